/// An incremental HTTP/1.1 response parser for the client: Content-Length, chunked and
/// read-until-close bodies; no body for HEAD, 1xx, 204 and 304. Interim 1xx responses
/// (`100 Continue`) are skipped.
struct HTTPResponseParser: Sendable {
    private enum State: Sendable {
        case head
        case body(Head, remaining: Int)
        case chunked(Head, ChunkedDecoder)
        case untilClose(Head)
        /// The body is complete; `next()` has not handed the response out yet.
        case ended(Head)
        case done
    }

    struct Head: Sendable {
        var status: Int
        var version: HTTPVersion
        var headers: HTTPHeaders
        var keepAlive: Bool
    }

    let isHeadRequest: Bool
    /// A 2xx answer to CONNECT has no body: the tunnel starts right after the head.
    let isConnectRequest: Bool
    let maxHeaderBytes: Int
    let maxBodyBytes: Int
    private var queue = ByteQueue()
    private var scanner = HeadScanner()
    private var state = State.head
    private var body: [UInt8] = []
    /// True once any response byte arrived (a reused connection that closes before this is stale).
    private(set) var receivedAnyBytes = false

    init(requestMethod: String, maxHeaderBytes: Int = 64 * 1024, maxBodyBytes: Int) {
        self.isHeadRequest = requestMethod == "HEAD"
        self.isConnectRequest = requestMethod == "CONNECT"
        self.maxHeaderBytes = maxHeaderBytes
        self.maxBodyBytes = maxBodyBytes
    }

    mutating func append(_ bytes: some Collection<UInt8>) {
        if !bytes.isEmpty { receivedAnyBytes = true }
        queue.append(bytes)
    }

    /// The complete response and whether the connection may be reused, or nil if more bytes are needed.
    mutating func next() throws(HTTPParseError) -> (HTTPClientResponse, keepAlive: Bool)? {
        if case .head = state, try nextHead() == nil { return nil }
        guard let head = try readBody() else { return nil }
        return finish(head, keepAlive: head.keepAlive)
    }

    /// The response head once it is complete (interim 1xx skipped), with the body's framing
    /// chosen; nil while more bytes are needed. The body follows through `next()` or, for a
    /// streamed response, `takeBodyBytes()`.
    mutating func nextHead() throws(HTTPParseError) -> Head? {
        while case .head = state {
            guard let headLength = try scanner.scan(&queue, limit: maxHeaderBytes) else { return nil }
            let head = try parseHead()
            queue.consume(headLength)
            scanner.reset()
            if (100..<200).contains(head.status), head.status != 101 { continue }
            if isHeadRequest || head.status < 200 || head.status == 204 || head.status == 304
                || (isConnectRequest && (200..<300).contains(head.status))
            {
                state = .ended(head)
                return head
            }
            switch try MessageFraming.framing(of: head.headers, maxBodyBytes: maxBodyBytes, isRequest: false) {
            case .none, .length(0): state = .ended(head)
            case .length(let n): state = .body(head, remaining: n)
            case .chunked: state = .chunked(head, ChunkedDecoder(maxBodyBytes: maxBodyBytes, maxTrailerBytes: maxHeaderBytes))
            case .untilClose: state = .untilClose(head)
            }
            return head
        }
        return nil
    }

    /// Streaming: the body bytes decoded since the last call, and whether the body is complete.
    /// The limit then applies to each chunk (and to a declared Content-Length), not to the sum:
    /// a watch runs for an hour.
    mutating func takeBodyBytes() throws(HTTPParseError) -> (bytes: [UInt8], complete: Bool) {
        let complete = try readBody() != nil
        defer { body = [] }
        return (body, complete)
    }

    /// Streaming, at EOF: a read-until-close body ends here; any other body was cut short.
    mutating func takeBodyBytesAtEOF() throws(HTTPParseError) -> [UInt8] {
        let (bytes, complete) = try takeBodyBytes()
        if complete { return bytes }
        if case .untilClose = state {
            state = .done
            return bytes
        }
        if case .body(_, let remaining) = state { throw .badRequest("connection closed with \(remaining) body bytes still expected") }
        throw .badRequest("connection closed inside a chunked body")
    }

    /// Moves received body bytes into `body`; the head once the body is complete, else nil.
    private mutating func readBody() throws(HTTPParseError) -> Head? {
        while true {
            switch state {
            case .head, .done:
                return nil
            case .ended(let head):
                return head
            case .body(let head, let remaining):
                guard !queue.isEmpty else { return nil }
                let n = min(remaining, queue.count)
                body.append(contentsOf: queue.take(n))
                state = n == remaining ? .ended(head) : .body(head, remaining: remaining - n)
                if n < remaining { return nil }
            case .chunked(let head, var decoder):
                let done = try decoder.decode(&queue, into: &body)
                state = done ? .ended(head) : .chunked(head, decoder)
                if !done { return nil }
            case .untilClose:
                if queue.count > maxBodyBytes - body.count { throw .bodyTooLarge(limit: maxBodyBytes) }
                body.append(contentsOf: queue.take(queue.count))
                return nil
            }
        }
    }

    /// Bytes received past the complete response (a pipelining peer's next response).
    var unconsumedBytes: [UInt8] { Array(queue.bytes(0..<queue.count)) }

    /// Called at EOF: completes a read-until-close body, otherwise says what was cut short.
    mutating func finishAtEOF() throws(HTTPParseError) -> HTTPClientResponse {
        _ = try next()
        switch state {
        case .untilClose(let head):
            return finish(head, keepAlive: false).0
        case .head:
            throw .badRequest(queue.isEmpty && !scanner.hasStarted ? "connection closed before any response" : "connection closed inside the response head")
        case .body(_, let remaining):
            throw .badRequest("connection closed with \(remaining) body bytes still expected")
        case .chunked:
            throw .badRequest("connection closed inside a chunked body")
        case .ended, .done:
            throw .badRequest("connection closed after the response")
        }
    }

    private mutating func finish(_ head: Head, keepAlive: Bool) -> (HTTPClientResponse, keepAlive: Bool) {
        state = .done
        let response = HTTPClientResponse(status: head.status, headers: head.headers, body: body)
        body = []
        // Bytes after a complete response on a non-pipelined connection mean it cannot be trusted.
        return (response, keepAlive && queue.isEmpty)
    }

    private func parseHead() throws(HTTPParseError) -> Head {
        guard let statusLine = scanner.lines.first else { throw .badRequest("empty response") }
        let line = queue.bytes(statusLine)
        // status-line = HTTP-version SP 3DIGIT SP [reason-phrase]; some servers omit the last SP.
        guard line.count >= 12, let version = MessageFraming.parseVersion(line.prefix(8)), version.major == 1,
              line[line.startIndex + 8] == 0x20
        else { throw .badRequest("malformed status line \(FieldLineParser.preview(line))") }
        let codeBytes = line[(line.startIndex + 9)..<(line.startIndex + 12)]
        guard codeBytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), line.count == 12 || line[line.startIndex + 12] == 0x20,
              let status = Int(HTTPBytes.string(codeBytes))
        else { throw .badRequest("malformed status line \(FieldLineParser.preview(line))") }
        let headers = try FieldLineParser.parse(queue, lines: scanner.lines.dropFirst())
        let keepAlive = version.minor >= 1
            ? !MessageFraming.connectionHas(headers, "close")
            : MessageFraming.connectionHas(headers, "keep-alive")
        return Head(status: status, version: version, headers: headers, keepAlive: keepAlive)
    }
}
