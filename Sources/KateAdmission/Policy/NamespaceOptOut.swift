import KateKube
import Logging

/// Whether a namespace opted out with the label `kate.dev/skip=true`.
///
/// The chart's `namespaceSelector` already keeps the apiserver from calling kate for such
/// namespaces; this is the server-side backstop for installs without that selector. It costs an
/// API read per namespace per TTL, so it is optional (`--pull-secrets off` / no cluster access
/// turns it off) and a failed read counts as "not opted out": pinning is the safe default.
public protocol NamespaceOptOutChecking: Sendable {
    func isOptedOut(namespace: String, logger: Logger) async -> Bool
}

public final class NamespaceLabelOptOut: NamespaceOptOutChecking {
    public typealias LabelReader = @Sendable (String) async throws -> [String: String]?

    private let read: LabelReader
    private let cache: ExpiringCache<String, Bool>

    public init(cacheTTL: Duration = .seconds(60), read: @escaping LabelReader) {
        self.read = read
        cache = ExpiringCache(capacity: 2048, timeToLive: cacheTTL)
    }

    public func isOptedOut(namespace: String, logger: Logger) async -> Bool {
        if let cached = cache.value(for: namespace) { return cached }
        do {
            let labels = try await read(namespace)
            let optedOut = labels?[AdmissionPolicy.skipLabel]?.lowercased() == "true"
            cache.set(optedOut, for: namespace)
            return optedOut
        } catch {
            logger.debug("namespace label lookup failed; treating as not opted out", metadata: ["namespace": "\(namespace)", "error": "\(error)"])
            return false
        }
    }
}
