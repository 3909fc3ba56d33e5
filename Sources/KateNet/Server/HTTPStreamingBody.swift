/// A response body written while it is produced (a Kubernetes watch, a log follow): the server
/// sends the head with `Transfer-Encoding: chunked`, runs `produce`, then ends the body. Each
/// `HTTPBodyWriter.write` goes out as one chunk at once, so a reader sees every piece when it is
/// written, not when the body ends.
///
/// The handler timeout covers only `respond(to:context:)`; `produce` runs as long as it likes and
/// ends by returning, by throwing (the connection is closed without the final chunk, which a
/// client reads as a cut-off body), or by cancellation (server shutdown, peer gone).
public struct HTTPStreamingBody: Sendable {
    let produce: @Sendable (HTTPBodyWriter) async throws -> Void

    public init(_ produce: @escaping @Sendable (HTTPBodyWriter) async throws -> Void) {
        self.produce = produce
    }
}

/// Writes the pieces of a streamed body as chunks (HTTP/1.0 peers, which know no chunked coding,
/// get the raw bytes and the end of the body is the end of the connection).
public struct HTTPBodyWriter: Sendable {
    let stream: any ByteStream
    let chunked: Bool
    let writeTimeout: Duration

    /// Sends `bytes` as one chunk now (an empty write sends nothing: a zero-size chunk ends the body).
    /// - Throws: `NetError` when the peer is gone or does not read within the write timeout.
    public func write(_ bytes: [UInt8]) async throws {
        guard !bytes.isEmpty else { return }
        guard chunked else {
            try await stream.write(bytes, deadline: .now + writeTimeout)
            return
        }
        var framed = Array(String(bytes.count, radix: 16).utf8)
        framed.reserveCapacity(framed.count + bytes.count + 4)
        framed.append(contentsOf: [0x0D, 0x0A])
        framed.append(contentsOf: bytes)
        framed.append(contentsOf: [0x0D, 0x0A])
        try await stream.write(framed, deadline: .now + writeTimeout)
    }

    /// The last chunk (no trailers): the body is complete.
    func end() async throws {
        guard chunked else { return }
        try await stream.write(Array("0\r\n\r\n".utf8), deadline: .now + writeTimeout)
    }
}

extension HTTPResponse {
    /// A response whose body `produce` writes while the connection stays open (see `HTTPStreamingBody`).
    public static func streaming(
        _ status: Int = 200, headers: HTTPHeaders = [:], _ produce: @escaping @Sendable (HTTPBodyWriter) async throws -> Void
    ) -> HTTPResponse {
        var response = HTTPResponse(status: status, headers: headers)
        response.streamingBody = HTTPStreamingBody(produce)
        return response
    }
}
