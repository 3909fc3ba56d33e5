/// The parts of an absolute `http://` / `https://` URL the client needs.
struct ClientURL: Sendable, Equatable {
    var scheme: String
    /// Without brackets for IPv6 (`::1`).
    var host: String
    var port: Int
    /// Origin-form request target: path plus query, `/` when empty. The fragment is dropped.
    var target: String
    var userinfo: String?

    var isTLS: Bool { scheme == "https" }
    /// `host:port` as written in Host headers and CONNECT (`[::1]:5000`; default ports omitted in Host).
    var authority: String { "\(bracketedHost):\(port)" }
    var hostHeader: String { port == (isTLS ? 443 : 80) ? bracketedHost : authority }
    var bracketedHost: String { host.contains(":") ? "[\(host)]" : host }
    /// The pool key: connections are only reused for the same scheme, host and port.
    var origin: String { "\(scheme)://\(authority)" }

    init(scheme: String, host: String, port: Int, target: String, userinfo: String? = nil) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.target = target
        self.userinfo = userinfo
    }

    /// Parses `scheme://[userinfo@]host[:port][/path][?query][#fragment]`.
    /// - Parameter defaultScheme: used when the text has no `://` (proxy variables often omit it).
    init(parsing text: String, defaultScheme: String? = nil) throws(HTTPClientError) {
        var rest = Substring(text)
        if let range = rest.firstRange(of: "://") {
            scheme = rest[..<range.lowerBound].lowercased()
            rest = rest[range.upperBound...]
        } else if let defaultScheme {
            scheme = defaultScheme
        } else {
            throw .invalidURL(text)
        }
        guard scheme == "http" || scheme == "https" else { throw .invalidURL(text) }
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        let path = rest[authorityEnd...]
        target = path.isEmpty ? "/" : (path.hasPrefix("?") ? "/" + path : String(path))
        if let at = authority.lastIndex(of: "@") {
            userinfo = String(authority[..<at])
            authority = authority[authority.index(after: at)...]
        } else {
            userinfo = nil
        }
        let hostPart: Substring
        var portPart: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .invalidURL(text) }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .invalidURL(text) }
                portPart = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            portPart = authority[authority.index(after: colon)...]
        } else {
            hostPart = authority
        }
        guard !hostPart.isEmpty, !hostPart.contains(where: { $0 == " " || $0 == "/" }) else { throw .invalidURL(text) }
        host = hostPart.lowercased()
        if let portPart {
            guard let value = Int(portPart), (1...65535).contains(value) else { throw .invalidURL(text) }
            port = value
        } else {
            port = scheme == "https" ? 443 : 80
        }
        guard target.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { throw .invalidURL(text) }
    }
}
