/// An incremental HTTP/1.1 request parser for the server.
///
/// Feed it whatever the socket returned (`append`), then call `next()` until it returns nil
/// (needs more bytes). Bytes beyond one request stay queued and start the next one, which is how
/// pipelined requests are handled. Every malformed input throws `HTTPParseError` with the status
/// to answer; after an error the connection must be closed (the framing is no longer known).
public struct HTTPRequestParser: Sendable {
    public struct Limits: Sendable, Equatable {
        public var maxHeaderBytes: Int
        public var maxBodyBytes: Int
        public init(maxHeaderBytes: Int = 16 * 1024, maxBodyBytes: Int = 8 * 1024 * 1024) {
            self.maxHeaderBytes = maxHeaderBytes
            self.maxBodyBytes = maxBodyBytes
        }
    }

    /// What a request's head says about the connection, available before its body is read.
    public struct Head: Sendable {
        public var method: String
        public var target: String
        public var version: HTTPVersion
        public var headers: HTTPHeaders
        /// False for `Connection: close`, and for HTTP/1.0 without `Connection: keep-alive`.
        public var keepAlive: Bool
        /// The client waits for `100 Continue` before sending the body.
        public var expectsContinue: Bool
    }

    public enum Event: Sendable {
        /// The head was read and a body follows: the server switches to the body timeout and
        /// answers `100 Continue` when `head.expectsContinue`.
        case head(Head)
        /// A complete request.
        case request(HTTPRequest, keepAlive: Bool)
    }

    /// Where the parser is within the current request (drives which timeout applies).
    public enum Phase: Sendable, Equatable {
        /// Between requests, no byte of the next one seen.
        case idle
        case head
        case body
    }

    private enum State: Sendable {
        case head
        case body(Head, remaining: Int)
        case chunked(Head, ChunkedDecoder)
    }

    public let limits: Limits
    private var queue = ByteQueue()
    private var scanner = HeadScanner()
    private var state = State.head
    private var body: [UInt8] = []

    public init(limits: Limits = .init()) {
        self.limits = limits
    }

    public mutating func append(_ bytes: some Collection<UInt8>) {
        queue.append(bytes)
    }

    /// Bytes received and not yet consumed by a complete request.
    public var bufferedByteCount: Int { queue.count }

    public var phase: Phase {
        switch state {
        case .head: scanner.hasStarted || !queue.isEmpty ? .head : .idle
        case .body, .chunked: .body
        }
    }

    /// The next event, or nil when more bytes are needed.
    public mutating func next() throws(HTTPParseError) -> Event? {
        switch state {
        case .head:
            guard let headLength = try scanner.scan(&queue, limit: limits.maxHeaderBytes) else { return nil }
            let head = try parseHead()
            queue.consume(headLength)
            scanner.reset()
            let framing = try MessageFraming.framing(of: head.headers, maxBodyBytes: limits.maxBodyBytes, isRequest: true)
            switch framing {
            case .none, .untilClose:
                return complete(head)
            case .length(let n):
                body.reserveCapacity(min(n, 256 * 1024))
                state = .body(head, remaining: n)
            case .chunked:
                state = .chunked(head, ChunkedDecoder(maxBodyBytes: limits.maxBodyBytes, maxTrailerBytes: limits.maxHeaderBytes))
            }
            return .head(head)
        case .body(let head, let remaining):
            guard !queue.isEmpty else { return nil }
            let n = min(remaining, queue.count)
            body.append(contentsOf: queue.take(n))
            if n == remaining { return complete(head) }
            state = .body(head, remaining: remaining - n)
            return nil
        case .chunked(let head, var decoder):
            let done = try decoder.decode(&queue, into: &body)
            state = .chunked(head, decoder)
            return done ? complete(head) : nil
        }
    }

    private mutating func complete(_ head: Head) -> Event {
        let request = HTTPRequest(method: head.method, target: head.target, version: head.version, headers: head.headers, body: body)
        body = []
        state = .head
        return .request(request, keepAlive: head.keepAlive)
    }

    private func parseHead() throws(HTTPParseError) -> Head {
        let lines = scanner.lines
        guard let requestLine = lines.first else { throw .badRequest("empty request") }
        let (method, target, version) = try Self.parseRequestLine(queue.bytes(requestLine))
        let headers = try FieldLineParser.parse(queue, lines: lines.dropFirst())
        let hosts = headers.values(for: "Host")
        if version.minor >= 1, hosts.count != 1 {
            // RFC 9112 §3.2: exactly one Host field in HTTP/1.1.
            throw .badRequest(hosts.isEmpty ? "missing Host header" : "more than one Host header")
        }
        var expectsContinue = false
        if let expect = headers["Expect"] {
            guard expect.caseInsensitiveEquals("100-continue") else {
                throw HTTPParseError(status: 417, reason: "unsupported expectation \(expect)")
            }
            expectsContinue = version.minor >= 1
        }
        let keepAlive = version.minor >= 1
            ? !MessageFraming.connectionHas(headers, "close")
            : MessageFraming.connectionHas(headers, "keep-alive")
        return Head(method: method, target: target, version: version, headers: headers, keepAlive: keepAlive, expectsContinue: expectsContinue)
    }

    /// request-line = method SP request-target SP HTTP-version (single spaces, RFC 9112 §3).
    static func parseRequestLine(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> (String, String, HTTPVersion) {
        let parts = line.split(separator: 0x20, maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw .badRequest("malformed request line \(FieldLineParser.preview(line))")
        }
        guard parts[0].allSatisfy(HTTPBytes.isToken) else { throw .badRequest("invalid method \(FieldLineParser.preview(parts[0]))") }
        guard parts[1].allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .badRequest("invalid request target \(FieldLineParser.preview(parts[1]))")
        }
        guard let version = MessageFraming.parseVersion(parts[2]) else {
            throw .badRequest("malformed HTTP version \(FieldLineParser.preview(parts[2]))")
        }
        guard version.major == 1 else {
            throw HTTPParseError(status: 505, reason: "\(version) is not supported; use HTTP/1.1")
        }
        return (HTTPBytes.string(parts[0]), HTTPBytes.string(parts[1]), version)
    }
}
