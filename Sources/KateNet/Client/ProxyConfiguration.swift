#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Proxy settings as curl and Go read them: `HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY` (either case).
///
/// `https://` URLs go through `httpsProxy` with a CONNECT tunnel (TLS end to end); `http://` URLs
/// through `httpProxy` with absolute-form requests. Only `http://` proxies are supported.
public struct ProxyConfiguration: Sendable, Equatable {
    public var httpProxy: String?
    public var httpsProxy: String?
    /// NO_PROXY entries: `*` (everything), `example.com` (it and its subdomains), `.example.com`
    /// (subdomains only), `host:port` (that port only), IP literals and IPv4 CIDR blocks (`10.0.0.0/8`).
    public var noProxy: [String]

    public init(httpProxy: String? = nil, httpsProxy: String? = nil, noProxy: [String] = []) {
        self.httpProxy = httpProxy
        self.httpsProxy = httpsProxy
        self.noProxy = noProxy
    }

    /// Reads the variables the way Go's `net/http` does: upper case first, then lower case; empty
    /// values count as unset. Unlike Go, loopback hosts are not exempted implicitly (curl does the
    /// same): list them in NO_PROXY.
    public static func fromEnvironment(_ environment: [String: String] = processEnvironment()) -> ProxyConfiguration {
        func value(_ names: String...) -> String? {
            for name in names { if let v = environment[name], !v.isEmpty { return v } }
            return nil
        }
        let noProxy = (value("NO_PROXY", "no_proxy") ?? "")
            .split { $0 == "," || $0 == " " }
            .map(String.init)
        // HTTP_PROXY is ignored under CGI (REQUEST_METHOD set): a request header `Proxy:` becomes HTTP_PROXY there.
        let httpProxy = environment["REQUEST_METHOD"] == nil ? value("HTTP_PROXY", "http_proxy") : value("http_proxy")
        return ProxyConfiguration(httpProxy: httpProxy, httpsProxy: value("HTTPS_PROXY", "https_proxy"), noProxy: noProxy)
    }

    /// The proxy URL to use for `url`, or nil to connect directly.
    func proxy(for url: ClientURL) -> String? {
        guard let proxy = url.isTLS ? httpsProxy : httpProxy else { return nil }
        return bypasses(host: url.host, port: url.port) ? nil : proxy
    }

    /// True if NO_PROXY says `host:port` is reached directly.
    public func bypasses(host: String, port: Int) -> Bool {
        let host = host.lowercased().trimmingCharacters(in: "[]")
        for raw in noProxy {
            var entry = raw.lowercased()
            if entry == "*" { return true }
            if entry.contains("/") {
                if let block = IPv4CIDR(entry), let address = IPv4CIDR.parse(host), block.contains(address) { return true }
                continue
            }
            var entryPort: Int?
            if entry.hasPrefix("[") {
                // [::1]:8080 or [::1]
                guard let close = entry.firstIndex(of: "]") else { continue }
                let after = entry[entry.index(after: close)...]
                if after.hasPrefix(":") { entryPort = Int(after.dropFirst()) }
                entry = String(entry[entry.index(after: entry.startIndex)..<close])
            } else if entry.filter({ $0 == ":" }).count == 1, let colon = entry.lastIndex(of: ":") {
                entryPort = Int(entry[entry.index(after: colon)...])
                entry = String(entry[..<colon])
            }
            if let entryPort, entryPort != port { continue }
            if entry.hasPrefix("*.") { entry.removeFirst() }
            if entry.hasPrefix(".") {
                if host.hasSuffix(entry) { return true }
            } else if host == entry || host.hasSuffix("." + entry) {
                return true
            }
        }
        return false
    }

    /// The process environment, read without Foundation.
    public static func processEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let eq = text.firstIndex(of: "=") {
                result[String(text[..<eq])] = String(text[text.index(after: eq)...])
            }
            pointer += 1
        }
        return result
    }
}

/// An IPv4 network for NO_PROXY CIDR entries.
struct IPv4CIDR {
    let network: UInt32
    let mask: UInt32

    init?(_ text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let address = Self.parse(String(parts[0])), let bits = Int(parts[1]), (0...32).contains(bits) else { return nil }
        mask = bits == 0 ? 0 : UInt32.max << (32 - UInt32(bits))
        network = address & mask
    }

    func contains(_ address: UInt32) -> Bool { address & mask == network }

    static func parse(_ text: String) -> UInt32? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var value: UInt32 = 0
        for octet in octets {
            guard let byte = UInt8(octet) else { return nil }
            value = value << 8 | UInt32(byte)
        }
        return value
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}
