/// A request for `HTTPClient.execute`: an absolute `http://` or `https://` URL.
public struct HTTPClientRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(method: String = "GET", url: String, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// A complete response. For `HEAD` the body is empty whatever Content-Length says.
public struct HTTPClientResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: Int, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// Why a request failed before a response arrived. Each case names the host and phase so the
/// caller's error message can tell a user what to fix.
public enum HTTPClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The URL could not be parsed or has an unsupported scheme.
    case invalidURL(String)
    /// Name resolution failed.
    case dnsFailure(host: String, message: String)
    /// TCP connect failed (refused, unreachable).
    case connectFailed(host: String, port: Int, message: String)
    /// The TLS handshake failed; `message` carries OpenSSL's reason (e.g. certificate verify failed: hostname mismatch).
    case tlsFailure(host: String, message: String)
    /// The deadline passed during `phase` ("connect", "tls", "request", "response").
    case timeout(host: String, phase: String)
    /// The connection closed or reset before a full response arrived.
    case connectionClosed(host: String, message: String)
    /// The response was not valid HTTP/1.1 or exceeded the client's limits.
    case malformedResponse(host: String, message: String)
    /// The proxy refused the CONNECT tunnel.
    case proxyFailure(proxy: String, message: String)

    public var description: String {
        switch self {
        case .invalidURL(let url): "invalid URL \(url)"
        case .dnsFailure(let host, let message): "cannot resolve \(host): \(message)"
        case .connectFailed(let host, let port, let message): "cannot connect to \(host):\(port): \(message)"
        case .tlsFailure(let host, let message): "TLS handshake with \(host) failed: \(message)"
        case .timeout(let host, let phase): "timed out talking to \(host) during \(phase)"
        case .connectionClosed(let host, let message): "connection to \(host) closed: \(message)"
        case .malformedResponse(let host, let message): "malformed response from \(host): \(message)"
        case .proxyFailure(let proxy, let message): "proxy \(proxy) failed: \(message)"
        }
    }
}
