import RegistryTestSupport
import Testing
@testable import KateNet

/// Feeds `input` to a fresh parser in `chunk`-sized pieces and collects every complete request
/// (with its keep-alive verdict) or the first error.
private func parse(
    _ input: String,
    chunk: Int = .max,
    limits: HTTPRequestParser.Limits = .init(maxHeaderBytes: 1024, maxBodyBytes: 4096)
) -> (requests: [(HTTPRequest, Bool)], heads: Int, error: HTTPParseError?) {
    var parser = HTTPRequestParser(limits: limits)
    var requests: [(HTTPRequest, Bool)] = []
    var heads = 0
    let bytes = Array(input.utf8)
    var offset = 0
    do {
        while offset < bytes.count {
            let end = min(bytes.count, offset + min(chunk, bytes.count))
            parser.append(bytes[offset..<end])
            offset = end
            while let event = try parser.next() {
                switch event {
                case .head: heads += 1
                case .request(let request, let keepAlive): requests.append((request, keepAlive))
                }
            }
        }
    } catch {
        return (requests, heads, error)
    }
    return (requests, heads, nil)
}

@Suite("HTTP/1.1 request parser")
struct HTTPRequestParserTests {
    static let post = "POST /mutate?timeout=10s HTTP/1.1\r\nHost: kate\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"a\":\"b12\"}"

    @Test("a request parses the same whatever the chunking", arguments: [1, 2, 3, 7, 64, Int.max])
    func chunking(chunk: Int) throws {
        let result = parse(Self.post, chunk: chunk)
        #expect(result.error == nil)
        let (request, keepAlive) = try #require(result.requests.first)
        #expect(request.method == "POST")
        #expect(request.target == "/mutate?timeout=10s")
        #expect(request.path == "/mutate")
        #expect(request.version == .http1_1)
        #expect(request.headers["content-type"] == "application/json")
        #expect(String(decoding: request.body, as: UTF8.self) == "{\"a\":\"b12\"}")
        #expect(keepAlive)
        #expect(result.heads == 1)
    }

    @Test("chunked body with extensions and trailers, fed byte by byte", arguments: [1, Int.max])
    func chunked(chunk: Int) throws {
        let input = "POST /validate HTTP/1.1\r\nHost: k\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5;name=value\r\nhello\r\n6 ; x\r\n world\r\n0\r\nX-Checksum: abc\r\n\r\n"
        let result = parse(input, chunk: chunk)
        #expect(result.error == nil)
        let request = try #require(result.requests.first?.0)
        #expect(String(decoding: request.body, as: UTF8.self) == "hello world")
        #expect(request.headers["X-Checksum"] == nil, "trailers are dropped, not merged")
    }

    @Test("pipelined requests come out in order, the leftover starts the next", arguments: [1, 5, Int.max])
    func pipelining(chunk: Int) {
        let input = "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n" + Self.post + "GET /readyz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        let result = parse(input, chunk: chunk)
        #expect(result.error == nil)
        #expect(result.requests.map(\.0.path) == ["/healthz", "/mutate", "/readyz"])
        #expect(result.requests.map(\.1) == [true, true, false])
    }

    @Test("keep-alive rules", arguments: [
        ("GET / HTTP/1.1\r\nHost: a\r\n\r\n", true),
        ("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false),
        ("GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, CLOSE\r\n\r\n", false),
        ("GET / HTTP/1.0\r\n\r\n", false),
        ("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true),
    ])
    func keepAlive(input: String, expected: Bool) throws {
        let result = parse(input)
        #expect(result.error == nil)
        #expect(try #require(result.requests.first).1 == expected)
    }

    @Test("leading empty lines before a request are ignored")
    func leadingCRLF() {
        let result = parse("\r\n\r\nGET /healthz HTTP/1.1\r\nHost: a\r\n\r\n", chunk: 1)
        #expect(result.requests.map(\.0.path) == ["/healthz"])
    }

    @Test("bare LF line endings are accepted")
    func bareLF() {
        let result = parse("GET /healthz HTTP/1.1\nHost: a\n\n")
        #expect(result.requests.map(\.0.path) == ["/healthz"])
    }

    @Test("Expect: 100-continue is reported with the head before the body")
    func expectContinue() throws {
        var parser = HTTPRequestParser()
        parser.append(Array("POST /mutate HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n".utf8))
        guard case .head(let head) = try parser.next() else { Issue.record("expected the head first"); return }
        #expect(head.expectsContinue)
        #expect(parser.phase == .body)
        #expect(try parser.next() == nil)
        parser.append(Array("ok".utf8))
        guard case .request(let request, _) = try parser.next() else { Issue.record("expected the request"); return }
        #expect(request.body == Array("ok".utf8))
        #expect(parser.phase == .idle)
    }

    @Test("phase goes idle → head → body → idle")
    func phases() throws {
        var parser = HTTPRequestParser()
        #expect(parser.phase == .idle)
        parser.append(Array("PO".utf8))
        #expect(try parser.next() == nil)
        #expect(parser.phase == .head)
        parser.append(Array("ST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nab".utf8))
        _ = try parser.next()
        #expect(parser.phase == .body)
    }

    struct Rejection: Sendable, CustomTestStringConvertible {
        let name: String
        let input: String
        let status: Int
        let reasonContains: String
        var testDescription: String { name }
    }

    static let rejections: [Rejection] = [
        .init(name: "header without colon", input: "GET / HTTP/1.1\r\nHost: a\r\nNoColonHere\r\n\r\n", status: 400, reasonContains: "without a colon"),
        .init(name: "whitespace before colon", input: "GET / HTTP/1.1\r\nHost : a\r\n\r\n", status: 400, reasonContains: "whitespace before the colon"),
        .init(name: "obs-fold", input: "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", status: 400, reasonContains: "folding"),
        .init(name: "control byte in value", input: "GET / HTTP/1.1\r\nHost: a\u{01}\r\n\r\n", status: 400, reasonContains: "invalid character"),
        .init(name: "bare CR in value", input: "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", status: 400, reasonContains: "invalid character"),
        .init(name: "malformed request line", input: "GET /\r\nHost: a\r\n\r\n", status: 400, reasonContains: "request line"),
        .init(name: "double space in request line", input: "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", status: 400, reasonContains: "request line"),
        .init(name: "bad version", input: "GET / HTTQ/1.1\r\nHost: a\r\n\r\n", status: 400, reasonContains: "HTTP version"),
        .init(name: "HTTP/2.0", input: "GET / HTTP/2.0\r\nHost: a\r\n\r\n", status: 505, reasonContains: "not supported"),
        .init(name: "missing Host", input: "GET / HTTP/1.1\r\n\r\n", status: 400, reasonContains: "missing Host"),
        .init(name: "two Hosts", input: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", status: 400, reasonContains: "more than one Host"),
        .init(name: "CL and TE", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", status: 400, reasonContains: "smuggling"),
        .init(name: "differing CLs", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", status: 400, reasonContains: "conflicting"),
        .init(name: "CL list differing", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 4\r\n\r\n", status: 400, reasonContains: "conflicting"),
        .init(name: "non-digit CL", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3a\r\n\r\n", status: 400, reasonContains: "invalid Content-Length"),
        .init(name: "negative CL", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", status: 400, reasonContains: "invalid Content-Length"),
        .init(name: "CL above limit", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4097\r\n\r\n", status: 413, reasonContains: "4096"),
        .init(name: "huge CL", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999999\r\n\r\n", status: 413, reasonContains: "exceeds"),
        .init(name: "invalid chunk size", input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", status: 400, reasonContains: "invalid chunk size"),
        .init(name: "empty chunk size", input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", status: 400, reasonContains: "invalid chunk size"),
        .init(name: "chunk data overrun", input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", status: 400, reasonContains: "longer than its declared"),
        .init(name: "chunked growth past limit", input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" + String(repeating: "x", count: 2048) + "\r\n800\r\n" + String(repeating: "x", count: 2048) + "\r\n1\r\n", status: 413, reasonContains: "exceeds 4096"),
        .init(name: "huge chunk size", input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\n", status: 413, reasonContains: "too large"),
        .init(name: "gzip transfer coding", input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", status: 501, reasonContains: "not supported"),
        .init(name: "TE not ending in chunked", input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", status: 400, reasonContains: "does not end in chunked"),
        .init(name: "unknown expectation", input: "POST / HTTP/1.1\r\nHost: a\r\nExpect: tea\r\nContent-Length: 1\r\n\r\n", status: 417, reasonContains: "expectation"),
        .init(name: "header section too large", input: "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + String(repeating: "b", count: 2000) + "\r\n\r\n", status: 431, reasonContains: "1024"),
        .init(name: "endless header line", input: "GET / HTTP/1.1\r\nX: " + String(repeating: "b", count: 2000), status: 431, reasonContains: "1024"),
        .init(name: "trailers too large", input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: " + String(repeating: "t", count: 2000) + "\r\n\r\n", status: 431, reasonContains: "1024"),
        .init(name: "space in method", input: "G\tT / HTTP/1.1\r\nHost: a\r\n\r\n", status: 400, reasonContains: "method"),
        .init(name: "random binary", input: "\u{16}\u{03}\u{01}\u{00}\u{a5}\u{01}\u{00}\u{00}\u{a1}\u{03}\u{03}\r\n\r\n", status: 400, reasonContains: "request line"),
    ]

    @Test("malformed input is answered with the right status and a reason", arguments: rejections)
    func rejected(rejection: Rejection) throws {
        for chunk in [1, Int.max] {
            let result = parse(rejection.input, chunk: chunk)
            let error = try #require(result.error, "\(rejection.name) was accepted")
            #expect(error.status == rejection.status, "\(rejection.name): \(error)")
            #expect(error.reason.contains(rejection.reasonContains), "\(rejection.name): \(error.reason)")
            #expect(result.requests.isEmpty)
        }
    }

    @Test("413 for Content-Length is decided before any body byte arrives")
    func earlyLengthRejection() {
        var parser = HTTPRequestParser(limits: .init(maxHeaderBytes: 1024, maxBodyBytes: 10))
        parser.append(Array("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n".utf8))
        #expect(throws: HTTPParseError(status: 413, reason: "request body exceeds 10 bytes")) { try parser.next() }
    }

    @Test("identical duplicate Content-Length values are accepted")
    func duplicateLengthSame() {
        let result = parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok")
        #expect(result.error == nil)
        #expect(result.requests.first?.0.body == Array("ok".utf8))
    }
}

@Suite("HTTP/1.1 request parser: hostile input never crashes")
struct HTTPRequestParserRobustnessTests {
    @Test("mutated valid requests, fed in random pieces: every outcome is a request or an HTTPParseError")
    func mutations() {
        var random = SplitMix64(seed: 0x6B61_7465)
        let seeds = [
            Array(HTTPRequestParserTests.post.utf8),
            Array("POST /v HTTP/1.1\r\nHost: k\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: v\r\n\r\n".utf8),
            Array("GET / HTTP/1.0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: a\r\n\r\n".utf8),
        ]
        let interesting: [UInt8] = [0x00, 0x09, 0x0A, 0x0D, 0x20, 0x3A, 0x3B, 0x30, 0x66, 0x7F, 0xFF]
        var outcomes = (requests: 0, errors: 0)
        for _ in 0..<3000 {
            var bytes = seeds.randomElement(using: &random) ?? []
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let index = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[index] = interesting.randomElement(using: &random) ?? 0
                case 1: bytes.insert(UInt8.random(in: 0...255, using: &random), at: index)
                default: bytes.remove(at: index)
                }
            }
            var parser = HTTPRequestParser(limits: .init(maxHeaderBytes: 256, maxBodyBytes: 64))
            var offset = 0
            do {
                while offset < bytes.count {
                    let end = min(bytes.count, offset + Int.random(in: 1...16, using: &random))
                    parser.append(bytes[offset..<end])
                    offset = end
                    while let event = try parser.next() {
                        if case .request = event { outcomes.requests += 1 }
                    }
                }
            } catch {
                #expect([400, 413, 417, 431, 501, 505].contains(error.status), "\(error)")
                outcomes.errors += 1
            }
        }
        #expect(outcomes.requests > 0 && outcomes.errors > 0, "the mutations exercise both paths: \(outcomes)")
    }
}
