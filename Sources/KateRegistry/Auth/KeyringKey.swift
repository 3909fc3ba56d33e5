import Foundation

/// A Docker config `auths` key normalised the way kubelet's keyring does it: scheme dropped,
/// `/v1/` and `/v2/` prefixes dropped, host lowercased, port kept, remaining path kept as a
/// repository prefix. Docker Hub's aliases all become `docker.io`.
struct KeyringKey: Sendable, Equatable {
    /// Lowercased host labels (`["*", "example", "com"]`); IPv6 literals stay one label.
    let hostLabels: [String]
    let port: String?
    /// Repository prefix components (`["team", "app"]`), empty for a whole registry.
    let path: [String]

    static let dockerHubAliases: Set<String> = ["docker.io", "index.docker.io", "registry-1.docker.io"]

    init?(_ raw: String) {
        var rest = Substring(raw.trimmingCharacters(in: .whitespaces))
        if let scheme = rest.range(of: "://") { rest = rest[scheme.upperBound...] }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        var path = rest[slash...].split(separator: "/").map(String.init)
        // "/v1/" and "/v2/" mean the registry itself (https://index.docker.io/v1/).
        if let first = path.first, first == "v1" || first == "v2" { path.removeFirst() }
        guard let (host, port) = Self.splitAuthority(authority), !host.isEmpty else { return nil }
        let lowered = host.lowercased()
        if Self.dockerHubAliases.contains(lowered), port == nil || port == "443" {
            hostLabels = ["docker", "io"]
            self.port = nil
        } else {
            hostLabels = lowered.hasPrefix("[") ? [lowered] : lowered.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            self.port = port
        }
        self.path = path
    }

    /// For an image: its registry (`docker.io`, `ghcr.io:443`, `[::1]:5000`) and repository.
    init?(registry: String, repository: String) {
        self.init(registry + "/" + repository)
    }

    private static func splitAuthority(_ authority: Substring) -> (String, String?)? {
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            let host = String(authority[...close])
            let after = authority[authority.index(after: close)...]
            return (host, after.hasPrefix(":") ? String(after.dropFirst()) : nil)
        }
        if let colon = authority.lastIndex(of: ":") {
            return (String(authority[..<colon]), String(authority[authority.index(after: colon)...]))
        }
        return (String(authority), nil)
    }

    /// kubelet's `urlsMatch`: same port, same number of labels, each label a glob, and the key's
    /// path a prefix of the image's path. The prefix is compared per component (kubelet compares
    /// raw strings, which lets a key for `org` match `organization/app`; kate does not).
    func matches(_ image: KeyringKey) -> Bool {
        guard port == image.port, hostLabels.count == image.hostLabels.count else { return false }
        for (pattern, label) in zip(hostLabels, image.hostLabels) where !Glob.matches(pattern: pattern, label) { return false }
        return path.count <= image.path.count && Array(image.path.prefix(path.count)) == path
    }

    /// Orders keys so the most specific wins: longer path first, then fewer wildcards, then more labels.
    var specificity: (Int, Int, Int) {
        (path.count, -hostLabels.filter { $0.contains("*") || $0.contains("?") }.count, hostLabels.count)
    }
}

/// `filepath.Match` for a single host label: `*` (any run) and `?` (one character).
enum Glob {
    static func matches(pattern: String, _ text: String) -> Bool {
        let p = Array(pattern.utf8), t = Array(text.utf8)
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count, p[pi] == UInt8(ascii: "?") || p[pi] == t[ti] {
                pi += 1; ti += 1
            } else if pi < p.count, p[pi] == UInt8(ascii: "*") {
                star = pi; mark = ti; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; ti = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }
}
