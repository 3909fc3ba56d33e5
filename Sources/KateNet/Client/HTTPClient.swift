import Logging

// PLACEHOLDER written by the lead so dependent modules compile; the net-http helper replaces this
// whole file with the real pooled keep-alive client. The public API below is the contract.

/// Proxy settings as curl and Go read them: `HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY` (either case).
public struct ProxyConfiguration: Sendable, Equatable {
    public var httpProxy: String?
    public var httpsProxy: String?
    public var noProxy: [String]

    public init(httpProxy: String? = nil, httpsProxy: String? = nil, noProxy: [String] = []) {
        self.httpProxy = httpProxy
        self.httpsProxy = httpsProxy
        self.noProxy = noProxy
    }
}

/// A keep-alive HTTP/1.1 client over kate's own sockets and OpenSSL.
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

    public init(configuration: Configuration = .init(), logger: Logger = Logger(label: "kate.http-client")) {
        self.configuration = configuration
    }

    /// Sends `request` and reads the whole response, reusing an idle connection to the same
    /// scheme/host/port when there is one.
    /// - Throws: `HTTPClientError`.
    public func execute(_ request: HTTPClientRequest, deadline: ContinuousClock.Instant) async throws -> HTTPClientResponse {
        throw HTTPClientError.connectFailed(host: request.url, port: 0, message: "HTTPClient not implemented yet")
    }

    /// Closes idle connections.
    public func shutdown() async {}
}
