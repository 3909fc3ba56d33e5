/// A FIFO of received bytes that parsers consume from the front.
///
/// Consuming only moves an index; the storage is compacted when the consumed prefix dominates,
/// so a long keep-alive connection with pipelined requests does not copy on every request.
struct ByteQueue: Sendable {
    private(set) var storage: [UInt8] = []
    private(set) var start = 0

    var count: Int { storage.count - start }
    var isEmpty: Bool { start == storage.count }

    subscript(offset: Int) -> UInt8 { storage[start + offset] }

    mutating func append(_ bytes: some Collection<UInt8>) {
        if start > 0, start >= storage.count / 2 {
            storage.removeFirst(start)
            start = 0
        }
        storage.append(contentsOf: bytes)
    }

    mutating func consume(_ n: Int) {
        precondition(n <= count, "consume past end of ByteQueue")
        start += n
        if start == storage.count {
            storage.removeAll(keepingCapacity: storage.capacity <= 64 * 1024)
            start = 0
        }
    }

    /// The bytes at `range` (offsets from the front), copied.
    func bytes(_ range: Range<Int>) -> ArraySlice<UInt8> {
        storage[(start + range.lowerBound)..<(start + range.upperBound)]
    }

    /// Removes and returns the first `n` bytes.
    mutating func take(_ n: Int) -> ArraySlice<UInt8> {
        let slice = bytes(0..<n)
        consume(n)
        return slice
    }

    /// Offset of the first `byte` at or after `from`, or nil.
    func firstIndex(of byte: UInt8, from: Int) -> Int? {
        var i = start + from
        let end = storage.count
        while i < end {
            if storage[i] == byte { return i - start }
            i += 1
        }
        return nil
    }
}
