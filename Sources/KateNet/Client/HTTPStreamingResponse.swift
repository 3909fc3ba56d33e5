extension HTTPClient {
    /// Sends `request` on a connection of its own and returns as soon as the response head has
    /// arrived; the body is then read piece by piece with `HTTPStreamingResponse.nextBodyBytes`.
    /// For responses that last (a Kubernetes watch streams for an hour): such a connection is never
    /// taken from or given back to the pool, so it cannot hold up ordinary requests.
    /// - Parameter headDeadline: covers connect, TLS, sending and the response head.
    /// - Throws: `HTTPClientError`, or `CancellationError` when the calling task was cancelled.
    public func stream(_ request: HTTPClientRequest, headDeadline: ContinuousClock.Instant) async throws -> HTTPStreamingResponse {
        let prepared = try prepare(request)
        let host = prepared.url.authority
        do {
            let connection = try await connector.open(prepared.url, route: prepared.route, deadline: headDeadline)
            do {
                return try await HTTPStreamingResponse.receiveHead(
                    sending: prepared.bytes, method: prepared.method, on: connection, host: host, deadline: headDeadline,
                    maxChunkBytes: configuration.maxResponseBodyBytes
                )
            } catch {
                await connection.close()
                throw error
            }
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw error
        }
    }
}

/// A response whose body is read as it arrives. It owns its connection: `close()` ends it early,
/// and a response dropped without `close()` releases the socket when it is freed.
///
/// Not `Sendable`: one task reads it, as one task reads any stream.
public final class HTTPStreamingResponse {
    public let status: Int
    public let headers: HTTPHeaders
    private let connection: any ByteStream
    private let host: String
    private var parser: HTTPResponseParser
    private var ended = false

    private init(status: Int, headers: HTTPHeaders, connection: any ByteStream, host: String, parser: HTTPResponseParser) {
        self.status = status
        self.headers = headers
        self.connection = connection
        self.host = host
        self.parser = parser
    }

    fileprivate static func receiveHead(
        sending bytes: [UInt8], method: String, on connection: any ByteStream, host: String, deadline: ContinuousClock.Instant, maxChunkBytes: Int
    ) async throws(HTTPClientError) -> HTTPStreamingResponse {
        do {
            try await connection.write(bytes, deadline: deadline)
        } catch let error as NetError where error.kind == .timedOut {
            throw .timeout(host: host, phase: "request")
        } catch {
            throw .connectionClosed(host: host, message: "sending the request failed: \(error)")
        }
        var parser = HTTPResponseParser(requestMethod: method, maxBodyBytes: maxChunkBytes)
        while true {
            let head: HTTPResponseParser.Head?
            do {
                head = try parser.nextHead()
            } catch {
                throw .malformedResponse(host: host, message: error.reason)
            }
            if let head {
                return HTTPStreamingResponse(status: head.status, headers: head.headers, connection: connection, host: host, parser: parser)
            }
            let chunk = try await read(connection, host: host, deadline: deadline, phase: "response")
            guard !chunk.isEmpty else {
                throw .connectionClosed(host: host, message: "the server closed the connection before the response head")
            }
            parser.append(chunk)
        }
    }

    /// The next piece of the body as it arrived (not aligned to anything the body contains), or nil
    /// once the body has ended. The connection is closed when the body ends or a read fails.
    /// - Parameter deadline: when to give up waiting for more bytes (`.timeout`, phase "response body").
    /// - Throws: `HTTPClientError`, or `CancellationError` when the calling task was cancelled.
    public func nextBodyBytes(deadline: ContinuousClock.Instant) async throws -> [UInt8]? {
        while !ended {
            do {
                let (bytes, complete) = try takeParsed()
                if complete { await finish() }
                if !bytes.isEmpty { return bytes }
                if complete { return nil }
                let chunk = try await Self.read(connection, host: host, deadline: deadline, phase: "response body")
                if chunk.isEmpty {
                    let rest: [UInt8]
                    do {
                        rest = try parser.takeBodyBytesAtEOF()
                    } catch {
                        throw HTTPClientError.connectionClosed(host: host, message: error.reason)
                    }
                    await finish()
                    return rest.isEmpty ? nil : rest
                }
                parser.append(chunk)
            } catch {
                await finish()
                if Task.isCancelled { throw CancellationError() }
                throw error
            }
        }
        return nil
    }

    /// The rest of the body, at most `limit` bytes (an error response's Status): longer bodies are cut.
    public func collectBody(limit: Int, deadline: ContinuousClock.Instant) async throws -> [UInt8] {
        var body: [UInt8] = []
        while body.count < limit, let bytes = try await nextBodyBytes(deadline: deadline) {
            body.append(contentsOf: bytes.prefix(limit - body.count))
        }
        if body.count >= limit { await close() }
        return body
    }

    /// Ends the response early, closing its connection. Idempotent.
    public func close() async {
        await finish()
    }

    private func finish() async {
        guard !ended else { return }
        ended = true
        await connection.close()
    }

    private func takeParsed() throws(HTTPClientError) -> (bytes: [UInt8], complete: Bool) {
        do {
            return try parser.takeBodyBytes()
        } catch {
            if error.status == 413 {
                throw .malformedResponse(host: host, message: "a body chunk exceeds \(parser.maxBodyBytes) bytes")
            }
            throw .malformedResponse(host: host, message: error.reason)
        }
    }

    private static func read(
        _ connection: any ByteStream, host: String, deadline: ContinuousClock.Instant, phase: String
    ) async throws(HTTPClientError) -> [UInt8] {
        do {
            return try await connection.read(maxBytes: 64 * 1024, deadline: deadline)
        } catch let error as NetError where error.kind == .timedOut {
            throw .timeout(host: host, phase: phase)
        } catch {
            throw .connectionClosed(host: host, message: "reading the response failed: \(error)")
        }
    }
}
