/// The human transcript of a trace (`kate resolve --explain`): one labelled line per step, the
/// label column fixed so a reader can scan down it.
extension ResolutionStep {
    public var lines: [String] {
        switch self {
        case .reference(let original, let normalized, let endpoints):
            let rewrite = original == normalized ? normalized : "\(original) → \(normalized)"
            return [Self.row("reference", rewrite), Self.row("", "asks " + endpoints.joined(separator: ", then "))]
        case .credentials(let sources):
            guard !sources.isEmpty else { return [Self.row("credentials", "none configured: anonymous only")] }
            return sources.enumerated().map { index, source in
                let keys = source.keys.isEmpty ? "no auths keys" : "keys " + source.keys.joined(separator: ", ")
                let verdict = source.matched.isEmpty ? "no key matches" : "MATCHES " + source.matched.joined(separator: ", ")
                return Self.row(index == 0 ? "credentials" : "", "\(index + 1). \(source.label): \(keys); \(verdict)")
            } + [Self.row("", "\(sources.count + 1). anonymous (always tried last)")]
        case .cache(let state, let detail):
            return [Self.row("cache", state.rawValue + (detail.map { ": \($0)" } ?? ""))]
        case .attempt(let endpoint, let credential):
            return [Self.row("try", "\(credential) at \(endpoint)")]
        case .challenge(let scheme, let realm, let service, let error):
            var parts = [scheme]
            if let realm { parts.append("realm=\"\(realm)\"") }
            if let service { parts.append("service=\"\(service)\"") }
            if let error { parts.append("error=\"\(error)\"") }
            return [Self.row("challenge", parts.joined(separator: " "))]
        case .token(let realm, let service, let scope, let credential, let status, let cached):
            let answer = cached ? "cached token" : "answered \(status.map(String.init) ?? "nothing")"
            return [Self.row("token", "\(realm) service=\(service ?? "-") scope=\(scope) as \(credential): \(answer)")]
        case .request(let method, let url, let accept, let authorization):
            return [
                Self.row("→ \(method)", url),
                Self.row("", "Accept: \(accept ?? "-"); Authorization: \(authorization ?? "none")"),
            ]
        case .response(let method, _, let status, let headers):
            let first = Self.row("← \(status)", "\(method) answered \(status)" + (headers.isEmpty ? "" : ":"))
            return [first] + headers.map { Self.row("", "\($0.name): \($0.value)") }
        case .transportError(let method, let url, let error):
            return [Self.row("← error", "\(method) \(url): \(error)")]
        case .note(let text):
            return [Self.row("", "(\(text))")]
        case .platforms(let index, let manifests):
            guard !manifests.isEmpty else { return [Self.row("platforms", "\(index) is a single-platform manifest")] }
            return manifests.enumerated().map { offset, manifest in Self.row(offset == 0 ? "platforms" : "", manifest.description) }
        case .verdict(let verdict):
            if let digest = verdict.digest {
                let source = verdict.source.map { " (from \($0))" } ?? ""
                return [Self.row("verdict", "\(digest)\(source)" + (verdict.mediaType.map { " \($0)" } ?? ""))]
            }
            var rows = [Self.row("verdict", "FAILED [\(verdict.failureClass?.rawValue ?? "unavailable")] \(verdict.message ?? "")")]
            if let fix = verdict.fix { rows.append(Self.row("fix", fix)) }
            return rows
        }
    }

    private static func row(_ label: String, _ text: String) -> String {
        let width = 12
        let padded = label.count >= width ? label + " " : label + String(repeating: " ", count: width - label.count)
        return "  " + padded + text
    }
}
