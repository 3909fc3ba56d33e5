/// Where the server listens and the limits it enforces on each connection. Every field maps to a
/// `kate webhook` flag; the defaults suit the apiserver's webhook client (objects up to ~3 MiB,
/// keep-alive connections reused across reviews, a 10 s default call timeout).
public struct HTTPServerConfiguration: Sendable, Equatable {
    /// "0.0.0.0", "::" (dual-stack), "127.0.0.1", "::1".
    public var host: String
    /// 0 binds an ephemeral port (`HTTPServer.start()` returns it).
    public var port: Int
    /// Request line + header fields; beyond this the answer is 431.
    public var maxHeaderBytes: Int
    /// Request body; beyond this the answer is 413 (decided from Content-Length before reading).
    public var maxBodyBytes: Int
    /// TLS handshake must complete within this, or the connection is dropped.
    public var handshakeTimeout: Duration
    /// From the first byte of a request until its head is complete (slowloris guard); then 408.
    public var headerReadTimeout: Duration
    /// From the end of the head until the body is complete; then 408.
    public var bodyReadTimeout: Duration
    /// A keep-alive connection with no request in progress is closed (silently) after this.
    public var idleTimeout: Duration
    /// Connections beyond this are shed (see `HTTPServer` for how).
    public var maxConnections: Int
    /// Extra connections accepted past `maxConnections` only to answer `probePaths` (kubelet's
    /// liveness/readiness probes arrive on new connections: an overloaded server that refused them
    /// would be restarted, turning overload into an outage). Every other request on such a
    /// connection is answered 503 and the connection closed; past this reserve, connections are
    /// refused outright.
    public var probeReserve: Int
    /// Paths answered normally on a reserve connection.
    public var probePaths: Set<String>
    /// A responder still running after this gets its request answered 503 and is cancelled.
    public var handlerTimeout: Duration
    /// `shutdown()` default: how long in-flight requests may take before connections are closed.
    public var gracePeriod: Duration
    /// Writing one response must finish within this (a peer that stops reading is dropped).
    public var writeTimeout: Duration

    public init(
        host: String = "0.0.0.0",
        port: Int = 8443,
        maxHeaderBytes: Int = 16 * 1024,
        maxBodyBytes: Int = 8 * 1024 * 1024,
        handshakeTimeout: Duration = .seconds(10),
        headerReadTimeout: Duration = .seconds(10),
        bodyReadTimeout: Duration = .seconds(30),
        idleTimeout: Duration = .seconds(90),
        maxConnections: Int = 4096,
        probeReserve: Int = 16,
        probePaths: Set<String> = ["/healthz", "/readyz"],
        handlerTimeout: Duration = .seconds(30),
        gracePeriod: Duration = .seconds(20),
        writeTimeout: Duration = .seconds(30)
    ) {
        self.host = host
        self.port = port
        self.maxHeaderBytes = maxHeaderBytes
        self.maxBodyBytes = maxBodyBytes
        self.handshakeTimeout = handshakeTimeout
        self.headerReadTimeout = headerReadTimeout
        self.bodyReadTimeout = bodyReadTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.probeReserve = probeReserve
        self.probePaths = probePaths
        self.handlerTimeout = handlerTimeout
        self.gracePeriod = gracePeriod
        self.writeTimeout = writeTimeout
    }

    /// Splits a listen address: "0.0.0.0:8443", "[::]:8443", "127.0.0.1:0", ":8443" (all IPv4 interfaces).
    /// - Throws: `ListenAddressError` saying what is wrong and what is expected.
    public static func parseListenAddress(_ text: String) throws(ListenAddressError) -> (host: String, port: Int) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw ListenAddressError(address: text, problem: "an IPv6 address needs the form [::]:8443")
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else {
                throw ListenAddressError(address: text, problem: "expected HOST:PORT such as 0.0.0.0:8443 or [::]:8443")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw ListenAddressError(address: text, problem: "port \"\(portText)\" is not a number from 0 to 65535")
        }
        return (host.isEmpty ? "0.0.0.0" : String(host), port)
    }
}

public struct ListenAddressError: Error, Sendable, Equatable, CustomStringConvertible {
    public let address: String
    public let problem: String
    public var description: String { "invalid listen address \"\(address)\": \(problem)" }
}
