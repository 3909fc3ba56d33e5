/// Splits a reference the way distribution/reference does: digest at `@`, tag after the last `:`
/// that is not followed by a `/` (so `myreg:5000/app` keeps its port), domain on the first `/`.
struct ReferenceParser {
    let input: String

    private func fail(_ kind: ImageReferenceError.Kind, _ reason: String) -> ImageReferenceError {
        ImageReferenceError(kind, reference: input, reason: reason)
    }

    mutating func parse() throws -> ImageReference {
        guard !input.isEmpty else { throw fail(.empty, "reference is empty") }
        if let bad = input.unicodeScalars.first(where: { $0.value <= 0x20 || $0.value >= 0x7F }) {
            throw fail(.invalidCharacters, "contains \(bad.value <= 0x20 ? "whitespace or a control character" : "non-ASCII character \"\(bad)\"")")
        }
        var rest = Substring(input)
        var digest: String?
        if let at = rest.firstIndex(of: "@") {
            digest = try parseDigest(rest[rest.index(after: at)...])
            rest = rest[..<at]
        }
        var tag: String?
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            tag = try parseTag(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
        }
        guard !rest.isEmpty else { throw fail(.empty, "repository name is empty") }
        // Docker rejects a bare 64-hex string (it reads like an image ID), not `<hex>:tag`.
        if rest == input, rest.utf8.count == 64, rest.utf8.allSatisfy(ReferenceGrammar.isLowerHex) {
            throw fail(.hexRepositoryName, "64-character hex string is not a valid repository name (did you mean @sha256:\(rest)?)")
        }
        let (domain, path) = try splitDomain(rest)
        let repository = try normalisePath(path, domain: domain)
        let name = domain + "/" + repository
        guard name.utf8.count <= ReferenceGrammar.maxNameLength else {
            throw fail(.nameTooLong, "repository name longer than \(ReferenceGrammar.maxNameLength) characters (\(name.utf8.count))")
        }
        return ImageReference(original: input, registry: domain, repository: repository, tag: tag, digest: digest)
    }

    private func parseDigest(_ s: Substring) throws -> String {
        guard let colon = s.firstIndex(of: ":") else {
            throw fail(.invalidDigest, "digest \"\(s)\" must look like sha256:<64 hex characters>")
        }
        let algorithm = s[..<colon], hex = s[s.index(after: colon)...]
        guard ReferenceGrammar.isDigestAlgorithm(algorithm) else {
            throw fail(.invalidDigest, "digest algorithm \"\(algorithm)\" is malformed")
        }
        guard let length = ReferenceGrammar.digestHexLength[String(algorithm)] else {
            throw fail(.unsupportedDigestAlgorithm, "digest algorithm \"\(algorithm)\" is not supported (use sha256)")
        }
        guard hex.utf8.count == length, hex.utf8.allSatisfy(ReferenceGrammar.isLowerHex) else {
            throw fail(.invalidDigest, "\(algorithm) digest must be \(length) lowercase hex characters (got \"\(hex)\")")
        }
        return String(s)
    }

    private func parseTag(_ s: Substring) throws -> String {
        guard !s.isEmpty else { throw fail(.emptyTag, "tag is empty (remove the trailing \":\")") }
        guard s.utf8.count <= ReferenceGrammar.maxTagLength else {
            throw fail(.tagTooLong, "tag longer than \(ReferenceGrammar.maxTagLength) characters (\(s.utf8.count))")
        }
        guard ReferenceGrammar.isTag(s) else {
            throw fail(.invalidTag, "tag \"\(s)\" may only contain letters, digits, \"_\", \".\" and \"-\", and must not start with \".\" or \"-\"")
        }
        return String(s)
    }

    /// The first component is a registry if it has a `.` or `:`, is `localhost`, or has uppercase
    /// letters (repository paths cannot); otherwise the whole name is on Docker Hub.
    private func splitDomain(_ name: Substring) throws -> (String, Substring) {
        guard let slash = name.firstIndex(of: "/") else { return (ImageReference.dockerHub, name) }
        let first = name[..<slash], path = name[name.index(after: slash)...]
        let isDomain = first == "localhost" || first.contains(".") || first.contains(":")
            || first.utf8.contains(where: ReferenceGrammar.isUpper)
        guard isDomain else { return (ImageReference.dockerHub, name) }
        try validateDomain(first)
        // index.docker.io is the legacy spelling of Docker Hub.
        return (first == "index.docker.io" ? ImageReference.dockerHub : String(first), path)
    }

    private func validateDomain(_ domain: Substring) throws {
        var host = domain
        var port: Substring?
        if domain.hasPrefix("[") {
            guard let close = domain.firstIndex(of: "]") else { throw fail(.invalidDomain, "IPv6 registry address \"\(domain)\" is missing \"]\"") }
            let address = domain[domain.index(after: domain.startIndex)..<close]
            guard !address.isEmpty, address.utf8.allSatisfy({ ReferenceGrammar.isHex($0) || $0 == 0x3A }) else {
                throw fail(.invalidDomain, "\"\(domain)\" is not a valid bracketed IPv6 address")
            }
            let after = domain[domain.index(after: close)...]
            host = domain[...close]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw fail(.invalidDomain, "unexpected \"\(after)\" after IPv6 address in \"\(domain)\"") }
                port = after.dropFirst()
            }
        } else {
            if let colon = domain.firstIndex(of: ":") {
                host = domain[..<colon]
                port = domain[domain.index(after: colon)...]
            }
            let labels = host.split(separator: ".", omittingEmptySubsequences: false)
            guard labels.allSatisfy(ReferenceGrammar.isDomainLabel) else {
                throw fail(.invalidDomain, "registry host \"\(host)\" is not a valid DNS name or IP address")
            }
        }
        if let port {
            guard !port.isEmpty, port.utf8.allSatisfy(ReferenceGrammar.isDigit), let number = Int(port), number <= 65535 else {
                throw fail(.invalidPort, "registry port \"\(port)\" in \"\(domain)\" must be a number from 0 to 65535")
            }
        }
    }

    private func normalisePath(_ path: Substring, domain: String) throws -> String {
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        for component in components {
            guard !component.isEmpty else {
                throw fail(.emptyPathComponent, "repository path \"\(path)\" has an empty component (\"//\" or a leading/trailing \"/\")")
            }
            if component.utf8.contains(where: ReferenceGrammar.isUpper) {
                throw fail(.uppercaseRepository, "repository name must be lowercase: \(component)")
            }
            guard ReferenceGrammar.isPathComponent(component) else {
                throw fail(.invalidPathComponent, "repository path component \"\(component)\" may only contain a-z, 0-9 and single separators \".\", \"_\", \"__\" or \"-\" between them")
            }
        }
        // One-component Hub names live under library/ (nginx -> library/nginx).
        if domain == ImageReference.dockerHub, components.count == 1 { return "library/" + path }
        return String(path)
    }
}
