import Testing
@testable import KateNet

private func parseResponse(_ input: String, method: String = "GET", chunk: Int = .max, eof: Bool = false, maxBody: Int = 1 << 20)
    throws -> (HTTPClientResponse, keepAlive: Bool)?
{
    var parser = HTTPResponseParser(requestMethod: method, maxBodyBytes: maxBody)
    let bytes = Array(input.utf8)
    var offset = 0
    while offset < bytes.count {
        let end = min(bytes.count, offset + chunk)
        parser.append(bytes[offset..<end])
        offset = end
        if let done = try parser.next() { return done }
    }
    return eof ? (try parser.finishAtEOF(), false) : nil
}

@Suite("HTTP/1.1 response parser (client side)")
struct HTTPResponseParserTests {
    @Test("Content-Length body, any chunking", arguments: [1, 3, Int.max])
    func contentLength(chunk: Int) throws {
        let (response, keepAlive) = try #require(try parseResponse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello", chunk: chunk))
        #expect(response.status == 200)
        #expect(response.body == Array("hello".utf8))
        #expect(response.headers["x-a"] == "b")
        #expect(keepAlive)
    }

    @Test("chunked body", arguments: [1, Int.max])
    func chunked(chunk: Int) throws {
        let input = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\n"
        let (response, keepAlive) = try #require(try parseResponse(input, chunk: chunk))
        #expect(String(decoding: response.body, as: UTF8.self) == "abc0123456789")
        #expect(keepAlive)
    }

    @Test("no length: the body runs until the server closes")
    func untilClose() throws {
        #expect(try parseResponse("HTTP/1.0 200 OK\r\n\r\npartial") == nil)
        let (response, keepAlive) = try #require(try parseResponse("HTTP/1.0 200 OK\r\n\r\nwhole body", eof: true))
        #expect(response.body == Array("whole body".utf8))
        #expect(!keepAlive)
    }

    @Test("HEAD, 204 and 304 have no body whatever Content-Length says", arguments: [
        ("HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"),
        ("GET", "HTTP/1.1 204 No Content\r\n\r\n"),
        ("GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n"),
    ])
    func bodyless(method: String, input: String) throws {
        let (response, keepAlive) = try #require(try parseResponse(input, method: method))
        #expect(response.body.isEmpty)
        #expect(keepAlive)
    }

    @Test("100 Continue is skipped")
    func interim() throws {
        let (response, _) = try #require(try parseResponse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"))
        #expect(response.status == 201)
    }

    @Test("Connection: close and HTTP/1.0 are not reused")
    func notReusable() throws {
        #expect(try parseResponse("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")?.keepAlive == false)
        #expect(try parseResponse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")?.keepAlive == false)
        #expect(try parseResponse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n")?.keepAlive == true)
    }

    @Test("a status line without a reason phrase is accepted")
    func noReason() throws {
        #expect(try parseResponse("HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n")?.0.status == 404)
    }

    @Test("malformed responses fail with a reason", arguments: [
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTP/1.1 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nqq\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n",
    ])
    func malformed(input: String) {
        #expect(throws: HTTPParseError.self) { try parseResponse(input) }
    }

    @Test("EOF inside a Content-Length body is reported")
    func truncated() {
        #expect(throws: HTTPParseError.self) { try parseResponse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", eof: true) }
        #expect(throws: HTTPParseError.self) { try parseResponse("", eof: true) }
    }
}

@Suite("HTTP/1.1 serializer")
struct HTTPSerializerTests {
    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test("response head carries status, Server, Date, Content-Length and the body")
    func response() throws {
        let out = text(HTTPSerializer.response(.text(200, "ok"), keepAlive: true))
        #expect(out.hasPrefix("HTTP/1.1 200 OK\r\nServer: kate\r\nDate: "))
        #expect(out.contains("\r\nContent-Length: 3\r\n"))
        #expect(out.contains("\r\nContent-Type: text/plain; charset=utf-8\r\n"))
        #expect(!out.contains("Connection:"))
        #expect(out.hasSuffix("\r\n\r\nok\n"))
        let date = try #require(out.split(separator: "\r\n").first { $0.hasPrefix("Date: ") })
        #expect(date.hasSuffix(" GMT") && date.count == "Date: Sun, 06 Nov 1994 08:49:37 GMT".count)
    }

    @Test("Connection: close when not keeping alive; keep-alive echoed for HTTP/1.0")
    func connection() {
        #expect(text(HTTPSerializer.response(.text(400, "bad"), keepAlive: false)).contains("\r\nConnection: close\r\n"))
        #expect(text(HTTPSerializer.response(.text(200, "x"), version: .http1_0, keepAlive: true)).contains("\r\nConnection: keep-alive\r\n"))
    }

    @Test("a responder cannot override framing or split the header section")
    func sanitized() {
        let response = HTTPResponse(status: 200, headers: ["Content-Length": "999", "X-Evil": "a\r\nSet-Cookie: x"], body: Array("hi".utf8))
        let out = text(HTTPSerializer.response(response, keepAlive: true))
        #expect(out.contains("Content-Length: 2\r\n"))
        #expect(!out.contains("999"))
        #expect(out.contains("X-Evil: a  Set-Cookie: x\r\n"))
    }

    @Test("HEAD keeps Content-Length and drops the body; 204 has neither")
    func bodyless() {
        let head = text(HTTPSerializer.response(.text(200, "hello"), keepAlive: true, headOnly: true))
        #expect(head.contains("Content-Length: 6") && head.hasSuffix("\r\n\r\n"))
        let noContent = text(HTTPSerializer.response(HTTPResponse(status: 204), keepAlive: true))
        #expect(!noContent.contains("Content-Length"))
    }

    @Test("what the serializer writes, the parser reads back")
    func roundTrip() throws {
        let bytes = HTTPSerializer.response(.json(201, Array("{\"ok\":true}".utf8)), keepAlive: true)
        var parser = HTTPResponseParser(requestMethod: "POST", maxBodyBytes: 1024)
        parser.append(bytes)
        let (response, keepAlive) = try #require(try parser.next())
        #expect(response.status == 201 && keepAlive)
        #expect(response.body == Array("{\"ok\":true}".utf8))

        let request = HTTPSerializer.request(method: "POST", target: "/mutate?timeout=10s", host: "127.0.0.1:8443", headers: ["Content-Type": "application/json"], body: [1, 2, 3])
        var server = HTTPRequestParser()
        server.append(request)
        guard case .head = try server.next(), case .request(let parsed, true) = try server.next() else {
            Issue.record("request did not round-trip"); return
        }
        #expect(parsed.headers["Host"] == "127.0.0.1:8443")
        #expect(parsed.body == [1, 2, 3])
    }
}
