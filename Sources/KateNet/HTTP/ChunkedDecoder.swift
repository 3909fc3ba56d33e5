/// Decodes a `Transfer-Encoding: chunked` body (RFC 9112 §7.1) incrementally.
///
/// Chunk extensions are skipped, trailer fields are validated and dropped (kate's endpoints have
/// no use for them, and merging them into the headers after routing is a known smuggling trap).
/// The body limit is checked against each chunk's declared size *before* its data is read, so a
/// peer cannot make us buffer past the limit.
struct ChunkedDecoder: Sendable {
    private enum State: Sendable {
        case size
        case data(remaining: Int)
        case dataEnd
        case trailers(bytes: Int)
        case done
    }

    /// Longest accepted chunk-size line (size + extensions); real clients send a few bytes.
    static let maxSizeLineBytes = 4096

    private var state = State.size
    let maxBodyBytes: Int
    let maxTrailerBytes: Int

    init(maxBodyBytes: Int, maxTrailerBytes: Int) {
        self.maxBodyBytes = maxBodyBytes
        self.maxTrailerBytes = maxTrailerBytes
    }

    var isDone: Bool { if case .done = state { true } else { false } }

    /// Consumes what it can from `queue`, appending data to `body`. Returns true when the last
    /// chunk and trailers have been read.
    mutating func decode(_ queue: inout ByteQueue, into body: inout [UInt8]) throws(HTTPParseError) -> Bool {
        while true {
            switch state {
            case .size:
                guard let lf = queue.firstIndex(of: 0x0A, from: 0) else {
                    if queue.count > Self.maxSizeLineBytes { throw .badRequest("chunk size line longer than \(Self.maxSizeLineBytes) bytes") }
                    return false
                }
                if lf > Self.maxSizeLineBytes { throw .badRequest("chunk size line longer than \(Self.maxSizeLineBytes) bytes") }
                let line = queue.take(lf + 1).dropLast()
                let size = try Self.parseSize(line.last == 0x0D ? line.dropLast() : line)
                if size > maxBodyBytes - body.count { throw .bodyTooLarge(limit: maxBodyBytes) }
                state = size == 0 ? .trailers(bytes: 0) : .data(remaining: size)
            case .data(let remaining):
                guard !queue.isEmpty else { return false }
                let n = min(remaining, queue.count)
                body.append(contentsOf: queue.take(n))
                state = n == remaining ? .dataEnd : .data(remaining: remaining - n)
            case .dataEnd:
                guard !queue.isEmpty else { return false }
                if queue[0] == 0x0A {
                    queue.consume(1)
                } else if queue[0] == 0x0D {
                    guard queue.count >= 2 else { return false }
                    guard queue[1] == 0x0A else { throw .badRequest("chunk data not followed by CRLF") }
                    queue.consume(2)
                } else {
                    throw .badRequest("chunk data longer than its declared size")
                }
                state = .size
            case .trailers(let seen):
                guard let lf = queue.firstIndex(of: 0x0A, from: 0) else {
                    if seen + queue.count > maxTrailerBytes { throw .headerTooLarge(limit: maxTrailerBytes) }
                    return false
                }
                if seen + lf + 1 > maxTrailerBytes { throw .headerTooLarge(limit: maxTrailerBytes) }
                let raw = queue.take(lf + 1).dropLast()
                let line = raw.last == 0x0D ? raw.dropLast() : raw
                if line.isEmpty {
                    state = .done
                    return true
                }
                _ = try FieldLineParser.parseLine(line)
                state = .trailers(bytes: seen + lf + 1)
            case .done:
                return true
            }
        }
    }

    /// chunk-size = 1*HEXDIG, optionally followed by `;ext` (whitespace allowed before `;`).
    static func parseSize(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> Int {
        var size = 0
        var digits = 0
        var index = line.startIndex
        while index < line.endIndex, let value = hexValue(line[index]) {
            // 15 hex digits already exceed any sane limit; stop before Int overflows.
            guard digits < 15 else { throw HTTPParseError(status: 413, reason: "chunk size \(FieldLineParser.preview(line)) is too large") }
            size = size << 4 | value
            digits += 1
            index += 1
        }
        guard digits > 0 else { throw .badRequest("invalid chunk size \(FieldLineParser.preview(line))") }
        while index < line.endIndex, HTTPBytes.isWhitespace(line[index]) { index += 1 }
        guard index == line.endIndex || line[index] == UInt8(ascii: ";") else {
            throw .badRequest("invalid chunk size \(FieldLineParser.preview(line))")
        }
        for b in line[index...] where !HTTPBytes.isFieldValueByte(b) {
            throw .badRequest("invalid character in chunk extension")
        }
        return size
    }

    @inline(__always) private static func hexValue(_ b: UInt8) -> Int? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(b - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(b - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}
