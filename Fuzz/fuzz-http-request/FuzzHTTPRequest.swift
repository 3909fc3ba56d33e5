// libFuzzer target: the server's HTTP/1.1 request parser (head, framing, bodies, pipelining).
//
// Beyond "no crash": the parser is incremental, so the same bytes must give the same requests and
// the same final verdict however the socket happened to split them. The first input byte picks
// the split size, the rest is the byte stream.
@testable import KateNet

/// What one parse came to: each complete request, then the error status or nil (needs more bytes).
private struct Outcome: Equatable {
    struct Request: Equatable {
        var method: String
        var target: String
        var version: HTTPVersion
        var headers: HTTPHeaders
        var body: [UInt8]
        var keepAlive: Bool
    }
    var requests: [Request] = []
    var heads = 0
    var errorStatus: Int?
}

private let limits = HTTPRequestParser.Limits(maxHeaderBytes: 1024, maxBodyBytes: 4096)

private func parse(_ bytes: ArraySlice<UInt8>, splitEvery step: Int) -> Outcome {
    var parser = HTTPRequestParser(limits: limits)
    var outcome = Outcome()
    var offset = bytes.startIndex
    do {
        while offset < bytes.endIndex {
            let end = min(bytes.endIndex, offset + step)
            parser.append(bytes[offset..<end])
            offset = end
            while let event = try parser.next() {
                switch event {
                case .head(let head):
                    outcome.heads += 1
                    if head.expectsContinue, head.version.minor == 0 { fatalError("100-continue promised to an HTTP/1.0 client") }
                case .request(let request, let keepAlive):
                    // What the router and the admission handler read from every request.
                    _ = request.path
                    _ = request.queryParameter("timeout")
                    if request.body.count > limits.maxBodyBytes { fatalError("body of \(request.body.count) bytes passed the limit") }
                    outcome.requests.append(.init(
                        method: request.method, target: request.target, version: request.version,
                        headers: request.headers, body: request.body, keepAlive: keepAlive))
                }
            }
            // Without a complete request, the buffer must stay bounded by the limits.
            if parser.bufferedByteCount > limits.maxHeaderBytes + limits.maxBodyBytes + 8 * 1024 + step {
                fatalError("parser buffers \(parser.bufferedByteCount) bytes without progress")
            }
        }
    } catch {
        if ![400, 413, 417, 431, 501, 505].contains(error.status) { fatalError("unexpected status \(error.status): \(error)") }
        outcome.errorStatus = error.status
    }
    return outcome
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPRequest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let step = Int(input[0] % 16) + 1
    let stream = input[1...]
    let whole = parse(stream, splitEvery: max(stream.count, 1))
    let split = parse(stream, splitEvery: step)
    if whole != split {
        fatalError("split every \(step) bytes parsed differently:\n whole: \(whole)\n split: \(split)")
    }
    return 0
}
