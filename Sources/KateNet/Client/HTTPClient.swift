import Logging

/// A keep-alive HTTP/1.1 client over kate's own sockets and OpenSSL.
///
/// Idle connections are pooled per `scheme://host:port`. A request on a *reused* connection that
/// finds it closed before any response byte (the server dropped it while idle: the classic
/// keep-alive race) is retried once on a fresh connection if its method is idempotent. Redirects
/// are returned, not followed: the registry and Kubernetes clients decide what a 3xx means.
public final class HTTPClient: Sendable {
    public struct Configuration: Sendable {
        public var tls: TLSClientConfiguration
        public var connectTimeout: Duration
        public var proxy: ProxyConfiguration?
        public var maxIdleConnectionsPerHost: Int
        public var idleTimeout: Duration
        public var maxResponseBodyBytes: Int

        public init(
            tls: TLSClientConfiguration = .init(),
            connectTimeout: Duration = .seconds(5),
            proxy: ProxyConfiguration? = nil,
            maxIdleConnectionsPerHost: Int = 8,
            idleTimeout: Duration = .seconds(60),
            maxResponseBodyBytes: Int = 64 << 20
        ) {
            self.tls = tls
            self.connectTimeout = connectTimeout
            self.proxy = proxy
            self.maxIdleConnectionsPerHost = maxIdleConnectionsPerHost
            self.idleTimeout = idleTimeout
            self.maxResponseBodyBytes = maxResponseBodyBytes
        }
    }

    public let configuration: Configuration
    let connector: ClientConnector
    private let pool: ConnectionPool
    private let logger: Logger

    private static let idempotentMethods: Set<String> = ["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"]
    private static let maxResponseHeaderBytes = 64 * 1024

    public init(configuration: Configuration = .init(), logger: Logger = Logger(label: "kate.http-client")) {
        self.configuration = configuration
        self.logger = logger
        // The TLS context (it holds the parsed trust store) loads in the background from now on;
        // a bad CA file is reported on the first https request.
        let tls = TLSContextLoader.loader(for: configuration.tls)
        self.connector = ClientConnector(tls: tls, connectTimeout: configuration.connectTimeout)
        self.pool = ConnectionPool(maxPerOrigin: configuration.maxIdleConnectionsPerHost, idleTimeout: configuration.idleTimeout)
    }

    /// Sends `request` and reads the whole response, reusing an idle connection to the same
    /// scheme/host/port when there is one. The deadline covers connect, TLS, sending and receiving.
    /// - Throws: `HTTPClientError`, or `CancellationError` when the calling task was cancelled:
    ///   a cancelled connect, handshake, write or read must not look like a server that closed
    ///   the connection (callers would count it against the host, or retry it).
    public func execute(_ request: HTTPClientRequest, deadline: ContinuousClock.Instant) async throws -> HTTPClientResponse {
        do {
            return try await send(request, deadline: deadline)
        } catch {
            // The layers below fail a cancelled wait in their own words (`.connectionClosed`,
            // `.connectFailed`, `.tlsFailure`); the task's state says what really happened.
            if Task.isCancelled { throw CancellationError() }
            throw error
        }
    }

    /// Closes idle connections and waits for the background TLS setup to end: a process that
    /// exits while that thread is still inside OpenSSL crashes (exit's atexit handlers free
    /// OpenSSL's state under it): a quick `kate sweep` against a plain-HTTP registry died with
    /// SIGSEGV after its report in about one run in ten.
    public func shutdown() async {
        for stream in pool.drain() { await stream.close() }
        _ = await connector.tls.context()
    }

    /// Opens a connection to `url`'s origin and leaves it idle in the pool for the next request there. For a caller
    /// that must wait before it can send (for another request to learn how the server authenticates): the TCP and TLS
    /// handshakes then overlap that wait instead of following it. Returns whether a connection was added. A failure
    /// is not reported: the request that follows opens its own connection and meets the error in its own words.
    @discardableResult
    public func preconnect(to url: String, deadline: ContinuousClock.Instant) async -> Bool {
        guard let parsed = try? ClientURL(parsing: url), let route = try? route(for: parsed) else { return false }
        guard let stream = try? await connector.open(parsed, route: route, deadline: deadline) else { return false }
        if let rejected = pool.checkin(poolKey(parsed, route: route), stream) {
            await rejected.close()
            return false
        }
        return true
    }

    /// Idle pooled connections to `url`'s origin (for tests and diagnostics).
    public func idleConnectionCount(for url: String) -> Int {
        guard let parsed = try? ClientURL(parsing: url), let route = try? route(for: parsed) else { return 0 }
        return pool.count(poolKey(parsed, route: route))
    }

    /// A request made ready for the wire: where it goes (direct or through a proxy) and its bytes.
    struct Prepared {
        let url: ClientURL
        let method: String
        let route: ClientConnector.Route
        let poolKey: String
        let bytes: [UInt8]
    }

    func prepare(_ request: HTTPClientRequest) throws(HTTPClientError) -> Prepared {
        let url = try ClientURL(parsing: request.url)
        let method = request.method.uppercased()
        let route = try route(for: url)
        let target: String
        if case .forwardProxy = route { target = "http://\(url.hostHeader)\(url.target)" } else { target = url.target }
        var headers = request.headers
        if case .forwardProxy(let proxy) = route, let credentials = proxy.userinfo {
            headers.add(name: "Proxy-Authorization", value: HTTPAuthorization.basic(credentials: credentials))
        }
        let bytes = HTTPSerializer.request(method: method, target: target, host: url.hostHeader, headers: headers, body: request.body)
        return Prepared(url: url, method: method, route: route, poolKey: poolKey(url, route: route), bytes: bytes)
    }

    private func send(_ request: HTTPClientRequest, deadline: ContinuousClock.Instant) async throws(HTTPClientError) -> HTTPClientResponse {
        let prepared = try prepare(request)
        let (url, method, route, key, bytes) = (prepared.url, prepared.method, prepared.route, prepared.poolKey, prepared.bytes)

        var pooled = await checkoutLive(key)
        while true {
            let reused = pooled != nil
            let stream: any ByteStream
            if let pooled {
                stream = pooled
            } else {
                stream = try await connector.open(url, route: route, deadline: deadline)
            }
            pooled = nil
            do throws(ExchangeError) {
                let (response, keepAlive) = try await exchange(bytes, method: method, on: stream, host: url.authority, deadline: deadline)
                if keepAlive, let rejected = pool.checkin(key, stream) {
                    await rejected.close()
                } else if !keepAlive {
                    await stream.close()
                }
                return response
            } catch {
                await stream.close()
                switch error {
                case .failed(let error):
                    throw error
                case .stale(let error):
                    guard reused, Self.idempotentMethods.contains(method), !Task.isCancelled else { throw error }
                    logger.debug("reused connection to \(url.authority) was closed by the server; retrying once on a new connection")
                    // Loop again with `pooled` nil: the retry opens a fresh connection.
                }
            }
        }
    }

    /// An idle pooled connection that still looks usable. A server that closed it while idle has
    /// left an EOF to read; one that sent bytes unasked cannot be trusted with a request. A read
    /// with an expired deadline costs one syscall and tells both apart from "nothing to read".
    private func checkoutLive(_ key: String) async -> (any ByteStream)? {
        while true {
            let (stream, expired) = pool.checkout(key)
            for old in expired { await old.close() }
            guard let stream else { return nil }
            do {
                _ = try await stream.read(maxBytes: 1, deadline: .now)
            } catch let error as NetError where error.kind == .timedOut {
                return stream
            } catch {}
            await stream.close()
        }
    }

    private enum ExchangeError: Error {
        /// The connection ended before any response byte: safe to retry an idempotent request.
        case stale(HTTPClientError)
        case failed(HTTPClientError)
    }

    private func exchange(
        _ bytes: [UInt8], method: String, on stream: any ByteStream, host: String, deadline: ContinuousClock.Instant
    ) async throws(ExchangeError) -> (HTTPClientResponse, Bool) {
        do {
            try await stream.write(bytes, deadline: deadline)
        } catch let error as NetError where error.kind == .timedOut {
            throw .failed(.timeout(host: host, phase: "request"))
        } catch {
            throw .stale(.connectionClosed(host: host, message: "sending the request failed: \(error)"))
        }
        var parser = HTTPResponseParser(
            requestMethod: method, maxHeaderBytes: Self.maxResponseHeaderBytes, maxBodyBytes: configuration.maxResponseBodyBytes)
        while true {
            let chunk: [UInt8]
            do {
                chunk = try await stream.read(maxBytes: 64 * 1024, deadline: deadline)
            } catch let error as NetError where error.kind == .timedOut {
                throw .failed(.timeout(host: host, phase: "response"))
            } catch {
                let closed = HTTPClientError.connectionClosed(host: host, message: "reading the response failed: \(error)")
                throw parser.receivedAnyBytes ? .failed(closed) : .stale(closed)
            }
            do {
                if chunk.isEmpty {
                    guard parser.receivedAnyBytes else {
                        throw ExchangeError.stale(.connectionClosed(host: host, message: "the server closed the connection before answering"))
                    }
                    return (try parser.finishAtEOF(), false)
                }
                parser.append(chunk)
                if let (response, keepAlive) = try parser.next() { return (response, keepAlive) }
            } catch let error as ExchangeError {
                throw error
            } catch let error as HTTPParseError {
                if error.status == 413 {
                    throw .failed(.malformedResponse(host: host, message: "response body exceeds \(configuration.maxResponseBodyBytes) bytes"))
                }
                if error.status == 431 {
                    throw .failed(.malformedResponse(host: host, message: "response head exceeds \(Self.maxResponseHeaderBytes) bytes"))
                }
                throw .failed(.malformedResponse(host: host, message: error.reason))
            } catch {
                throw .failed(.malformedResponse(host: host, message: "\(error)"))
            }
        }
    }

    /// Direct, or through the configured proxy. A proxy kate cannot use is an error, not a silent
    /// direct connection: in a locked-down network that would only fail later and more obscurely.
    private func route(for url: ClientURL) throws(HTTPClientError) -> ClientConnector.Route {
        guard let proxyText = configuration.proxy?.proxy(for: url) else { return .direct }
        guard let proxy = try? ClientURL(parsing: proxyText, defaultScheme: "http") else {
            throw .proxyFailure(proxy: proxyText, message: "not a valid proxy URL (expected http://host:port)")
        }
        guard proxy.scheme == "http" else {
            throw .proxyFailure(proxy: proxyText, message: "only http:// proxies are supported (https to the target still goes through a CONNECT tunnel)")
        }
        return url.isTLS ? .tunnel(proxy) : .forwardProxy(proxy)
    }

    private func poolKey(_ url: ClientURL, route: ClientConnector.Route) -> String {
        switch route {
        case .direct: url.origin
        case .forwardProxy(let proxy): "proxy \(proxy.origin)"
        case .tunnel(let proxy): "\(url.origin) via \(proxy.origin)"
        }
    }
}
