/// The parts of an absolute http(s) URL kate needs: enough to compare origins for redirects and
/// token realms without Foundation's URL quirks around IPv6 literals.
struct URLParts: Sendable, Equatable {
    let scheme: String
    /// `host` or `host:port` or `[::1]:port`, lowercased.
    let authority: String
    /// Path and query, starting with `/`.
    let pathAndQuery: String

    init?(_ url: String) {
        guard let sep = url.range(of: "://") else { return nil }
        let scheme = url[..<sep.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        let rest = url[sep.upperBound...]
        let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<slash]
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        self.scheme = scheme
        self.authority = authority.lowercased()
        let tail = String(rest[slash...])
        self.pathAndQuery = tail.isEmpty ? "/" : (tail.hasPrefix("?") ? "/" + tail : tail)
    }

    /// The host without the port (brackets kept for IPv6).
    var host: String {
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") { return String(authority[...close]) }
        return authority.split(separator: ":", maxSplits: 1).first.map(String.init) ?? authority
    }

    var origin: String { "\(scheme)://\(authority)" }
    var string: String { origin + pathAndQuery }

    /// Resolves a `Location` header against this URL (absolute, scheme-relative or path).
    func resolving(_ location: String) -> URLParts? {
        if location.hasPrefix("//") { return URLParts(scheme + ":" + location) }
        if location.contains("://") { return URLParts(location) }
        if location.hasPrefix("/") { return URLParts(origin + location) }
        let path = pathAndQuery.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "/"
        let directory = path.hasSuffix("/") ? path : String(path[...(path.lastIndex(of: "/") ?? path.startIndex)])
        return URLParts(origin + directory + location)
    }
}

/// Percent-encoding for query values (`scope=repository:a/b:pull`): unreserved characters and
/// the few that token servers expect literally stay as they are.
enum QueryEncoding {
    static func encode(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            if ReferenceGrammar.isAlnum(byte) || "-._~:/".utf8.contains(byte) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
