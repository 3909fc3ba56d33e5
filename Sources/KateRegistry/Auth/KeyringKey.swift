import Foundation

/// A Docker config `auths` key normalised the way kubelet's keyring does it: scheme dropped,
/// `/v1/` and `/v2/` prefixes dropped, host lowercased, port kept, remaining path kept as a
/// repository prefix. Docker Hub's aliases all become `docker.io`.
///
/// Parsed once, when a `Keyring` is built; matching an image against it (`matches(registry:
/// repository:)`) reads the image's strings in place and allocates nothing, because the webhook
/// asks for every image of every review.
struct KeyringKey: Sendable, Equatable {
    /// Lowercased host labels (`["*", "example", "com"]`); IPv6 literals stay one label.
    let hostLabels: [String]
    let port: String?
    /// Repository prefix components (`["team", "app"]`), empty for a whole registry.
    let path: [String]
    /// The same as bytes, for matching without converting anything per call.
    private let hostLabelBytes: [[UInt8]]
    private let portBytes: [UInt8]?
    private let pathBytes: [[UInt8]]
    /// Orders keys so the most specific wins: longer path first, then fewer wildcards, then more labels.
    let specificity: (Int, Int, Int)

    static let dockerHubAliases: Set<String> = ["docker.io", "index.docker.io", "registry-1.docker.io"]

    static func == (a: KeyringKey, b: KeyringKey) -> Bool {
        a.hostLabels == b.hostLabels && a.port == b.port && a.path == b.path
    }

    init?(_ raw: String) {
        KeyringInstrumentation.current?.countKeyParse()
        var rest = Substring(raw.trimmingCharacters(in: .whitespaces))
        if let scheme = rest.range(of: "://") { rest = rest[scheme.upperBound...] }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        var path = rest[slash...].split(separator: "/").map(String.init)
        // "/v1/" and "/v2/" mean the registry itself (https://index.docker.io/v1/).
        if let first = path.first, first == "v1" || first == "v2" { path.removeFirst() }
        guard let (host, port) = Self.splitAuthority(authority), !host.isEmpty else { return nil }
        let lowered = host.lowercased()
        let labels: [String]
        if Self.dockerHubAliases.contains(lowered), port == nil || port == "443" {
            labels = ["docker", "io"]
            self.port = nil
        } else {
            labels = lowered.hasPrefix("[") ? [lowered] : lowered.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            self.port = port
        }
        hostLabels = labels
        self.path = path
        hostLabelBytes = labels.map { Array($0.utf8) }
        portBytes = self.port.map { Array($0.utf8) }
        pathBytes = path.map { Array($0.utf8) }
        specificity = (path.count, -labels.filter { $0.contains("*") || $0.contains("?") }.count, labels.count)
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

    /// kubelet's `urlsMatch` for an image's registry (`docker.io`, `ghcr.io:443`, `[::1]:5000`)
    /// and repository: same port, same number of host labels, each label a glob, and the key's
    /// path a prefix of the repository. The prefix is compared per component (kubelet compares
    /// raw strings, which lets a key for `org` match `organization/app`; kate does not).
    func matches(_ image: ImageLocation) -> Bool {
        Self.equal(portBytes, image.port) && image.hostMatches(hostLabelBytes) && image.repositoryStarts(with: pathBytes)
    }

    private static func equal(_ a: [UInt8]?, _ b: UnsafeBufferPointer<UInt8>?) -> Bool {
        switch (a, b) {
        case (nil, nil): true
        case (let a?, let b?): a.elementsEqual(b)
        default: false
        }
    }
}

/// An image's registry (host and port) and repository, read in place from the strings' own
/// UTF-8 storage: the per-image side of a keyring match, built without allocating (only a
/// registry name with upper-case letters is lowercased into a copy).
struct ImageLocation {
    private let host: UnsafeBufferPointer<UInt8>
    let port: UnsafeBufferPointer<UInt8>?
    private let repository: UnsafeBufferPointer<UInt8>
    /// `docker.io`, `index.docker.io` or `registry-1.docker.io` on the default port: Docker Hub.
    private let dockerHub: Bool

    private static let dockerHubLabels: [[UInt8]] = [Array("docker".utf8), Array("io".utf8)]
    private static let dockerHubAliasBytes: [[UInt8]] = KeyringKey.dockerHubAliases.sorted().map { Array($0.utf8) }

    /// Calls `body` with the location of `registry`/`repository`; nil when the registry has no host.
    static func with<R>(registry: String, repository: String, _ body: (ImageLocation) -> R) -> R? {
        var registry = registry
        if registry.utf8.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) { registry = registry.lowercased() }
        var repository = repository
        return registry.withUTF8 { registryBytes in
            repository.withUTF8 { repositoryBytes in
                ImageLocation(registry: registryBytes, repository: repositoryBytes).map(body)
            }
        }
    }

    private init?(registry: UnsafeBufferPointer<UInt8>, repository: UnsafeBufferPointer<UInt8>) {
        // `[v6]:port`, `host:port` (last colon), `host`.
        var hostEnd = registry.count
        var port: UnsafeBufferPointer<UInt8>?
        if registry.first == UInt8(ascii: "[") {
            guard let close = registry.firstIndex(of: UInt8(ascii: "]")) else { return nil }
            hostEnd = close + 1
            if hostEnd < registry.count, registry[hostEnd] == UInt8(ascii: ":") {
                port = UnsafeBufferPointer(rebasing: registry[(hostEnd + 1)...])
            }
        } else if let colon = registry.lastIndex(of: UInt8(ascii: ":")) {
            hostEnd = colon
            port = UnsafeBufferPointer(rebasing: registry[(colon + 1)...])
        }
        guard hostEnd > 0 else { return nil }
        let host = UnsafeBufferPointer(rebasing: registry[..<hostEnd])
        let defaultPort = port.map { $0.count == 3 && $0[0] == UInt8(ascii: "4") && $0[1] == UInt8(ascii: "4") && $0[2] == UInt8(ascii: "3") } ?? true
        dockerHub = defaultPort && Self.dockerHubAliasBytes.contains { $0.count == host.count && $0.elementsEqual(host) }
        self.host = host
        self.port = dockerHub ? nil : port
        self.repository = repository
    }

    /// Same number of labels, each matching its glob (an IPv6 literal is one label).
    func hostMatches(_ patterns: [[UInt8]]) -> Bool {
        if dockerHub {
            guard patterns.count == 2 else { return false }
            return Self.dockerHubLabels.withUnsafeBufferPointer { labels in
                labels[0].withUnsafeBufferPointer { Glob.matches(pattern: patterns[0], $0) }
                    && labels[1].withUnsafeBufferPointer { Glob.matches(pattern: patterns[1], $0) }
            }
        }
        if host.first == UInt8(ascii: "[") { return patterns.count == 1 && Glob.matches(pattern: patterns[0], host) }
        var label = 0, start = 0
        for index in 0...host.count where index == host.count || host[index] == UInt8(ascii: ".") {
            guard label < patterns.count, Glob.matches(pattern: patterns[label], UnsafeBufferPointer(rebasing: host[start..<index])) else {
                return false
            }
            label += 1
            start = index + 1
        }
        return label == patterns.count
    }

    /// Whether the repository's first components are `prefix` (compared per component).
    func repositoryStarts(with prefix: [[UInt8]]) -> Bool {
        guard !prefix.isEmpty else { return true }
        var component = 0, start = 0
        for index in 0...repository.count where index == repository.count || repository[index] == UInt8(ascii: "/") {
            defer { start = index + 1 }
            guard index > start else { continue }
            guard UnsafeBufferPointer(rebasing: repository[start..<index]).elementsEqual(prefix[component]) else { return false }
            component += 1
            if component == prefix.count { return true }
        }
        return false
    }
}

/// `filepath.Match` for a single host label: `*` (any run) and `?` (one character).
enum Glob {
    static func matches(pattern: String, _ text: String) -> Bool {
        Array(text.utf8).withUnsafeBufferPointer { matches(pattern: Array(pattern.utf8), $0) }
    }

    static func matches(pattern p: [UInt8], _ t: UnsafeBufferPointer<UInt8>) -> Bool {
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
