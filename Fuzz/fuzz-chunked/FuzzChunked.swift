// libFuzzer target: `Transfer-Encoding: chunked` decoding on its own (sizes, extensions, CRLF
// handling, trailers, limits).
//
// Invariants: the body never exceeds the limit; fed in one piece or split, the decoder reaches the
// same body and the same verdict; once done, it consumed exactly the chunked message (what is
// left is the next pipelined request, untouched).
@testable import KateNet

private struct Outcome: Equatable {
    var body: [UInt8]
    var done: Bool
    var errorStatus: Int?
    var leftover: Int
}

private let maxBody = 2048
private let maxTrailer = 512

private func decode(_ bytes: ArraySlice<UInt8>, splitEvery step: Int) -> Outcome {
    var decoder = ChunkedDecoder(maxBodyBytes: maxBody, maxTrailerBytes: maxTrailer)
    var queue = ByteQueue()
    var body: [UInt8] = []
    var offset = bytes.startIndex
    while offset < bytes.endIndex {
        let end = min(bytes.endIndex, offset + step)
        queue.append(bytes[offset..<end])
        offset = end
        do {
            if try decoder.decode(&queue, into: &body) {
                // Done: the rest belongs to the next message; feed it, it must stay unread.
                queue.append(bytes[offset...])
                return Outcome(body: body, done: true, errorStatus: nil, leftover: queue.count)
            }
        } catch {
            if ![400, 413, 431].contains(error.status) { fatalError("unexpected status \(error.status): \(error)") }
            return Outcome(body: [], done: false, errorStatus: error.status, leftover: 0)
        }
        if body.count > maxBody { fatalError("decoded \(body.count) bytes past the \(maxBody)-byte limit") }
    }
    return Outcome(body: body, done: false, errorStatus: nil, leftover: 0)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzChunked(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let step = Int(input[0] % 8) + 1
    let stream = input[1...]
    let whole = decode(stream, splitEvery: max(stream.count, 1))
    let split = decode(stream, splitEvery: step)
    // An error may surface in either mode while the other still waits for bytes only if the
    // error depends on bytes beyond the split point; both modes saw every byte, so they agree.
    if whole != split {
        fatalError("split every \(step) bytes decoded differently:\n whole: \(whole)\n split: \(split)")
    }
    return 0
}
