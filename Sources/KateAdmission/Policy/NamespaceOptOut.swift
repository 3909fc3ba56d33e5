import KateContract
import KateRegistry
import Logging
import Synchronization

/// Whether a namespace opted out with the label `kate.dev/skip=true`.
///
/// The chart's `namespaceSelector` already keeps the apiserver from calling kate for such
/// namespaces; this is the server-side backstop for installs without that selector. It costs an
/// API read per namespace per TTL, so it is optional (`--pull-secrets off` / no cluster access
/// turns it off) and a failed read counts as "not opted out": pinning is the safe default.
public protocol NamespaceOptOutChecking: Sendable {
    func isOptedOut(namespace: String, logger: Logger) async -> Bool
    /// Whether the namespace opted its operator-owned pods in (`kate.dev/pin-operator-owned=true`). Asked only for
    /// pods whose controller is an operator kind not opted in by flag.
    func pinsOperatorOwned(namespace: String, logger: Logger) async -> Bool
    /// The namespace's `kate.dev/cooldown` label: nil when absent (or unreadable), the failure when
    /// it is not a duration. Asked only when the cooldown gate is on.
    func cooldown(namespace: String, logger: Logger) async -> Result<Duration, Cooldown.InvalidLabel>?
}

extension NamespaceOptOutChecking {
    /// A checker that reads no such label: operator-owned pods stay unpinned unless their kind is opted in.
    public func pinsOperatorOwned(namespace: String, logger: Logger) async -> Bool { false }
    /// A checker that reads no such label: `--cooldown` applies everywhere.
    public func cooldown(namespace: String, logger: Logger) async -> Result<Duration, Cooldown.InvalidLabel>? { nil }
}

public final class NamespaceLabelOptOut: NamespaceOptOutChecking {
    public typealias LabelReader = @Sendable (String) async throws -> [String: String]?

    private let read: LabelReader
    private let isPermanent: @Sendable (any Error) -> Bool
    /// What a namespace's labels say, read once per TTL for both questions.
    private struct Flags: Sendable {
        var optedOut: Bool
        var pinsOperatorOwned: Bool
        var cooldown: Result<Duration, Cooldown.InvalidLabel>? = nil
    }

    private let cache: ExpiringCache<String, Flags>
    /// Set after a permanent failure (RBAC forbids reading namespaces): asking again per
    /// namespace per minute would only add latency and noise.
    private let disabled = Mutex(false)

    /// - Parameter isPermanent: errors after which the check turns itself off for good.
    public init(cacheTTL: Duration = .seconds(60), isPermanent: @escaping @Sendable (any Error) -> Bool = { _ in false }, read: @escaping LabelReader) {
        self.read = read
        self.isPermanent = isPermanent
        cache = ExpiringCache(capacity: 2048, timeToLive: cacheTTL)
    }

    public func isOptedOut(namespace: String, logger: Logger) async -> Bool {
        await flags(namespace: namespace, logger: logger).optedOut
    }

    public func pinsOperatorOwned(namespace: String, logger: Logger) async -> Bool {
        await flags(namespace: namespace, logger: logger).pinsOperatorOwned
    }

    public func cooldown(namespace: String, logger: Logger) async -> Result<Duration, Cooldown.InvalidLabel>? {
        await flags(namespace: namespace, logger: logger).cooldown
    }

    /// A failed read answers "not opted out, not opted in": pin, except operator-owned pods.
    private func flags(namespace: String, logger: Logger) async -> Flags {
        let unknown = Flags(optedOut: false, pinsOperatorOwned: false)
        if disabled.withLock({ $0 }) { return unknown }
        if let cached = cache.value(for: namespace) { return cached }
        do {
            let labels = try await read(namespace)
            let cooldown: Result<Duration, Cooldown.InvalidLabel>?
            do throws(Cooldown.InvalidLabel) {
                cooldown = try Cooldown.namespaceCooldown(labels: labels).map { .success($0) }
            } catch {
                cooldown = .failure(error)
            }
            let flags = Flags(optedOut: OptOut.isOptedOut(labels), pinsOperatorOwned: OperatorOwnership.namespaceOptsIn(labels), cooldown: cooldown)
            cache.set(flags, for: namespace)
            return flags
        } catch {
            if isPermanent(error) {
                let first = disabled.withLock { wasDisabled in
                    defer { wasDisabled = true }
                    return !wasDisabled
                }
                if first {
                    logger.notice(
                        "namespace label check off: cannot read namespaces; the webhook's namespaceSelector still enforces \(KateAnnotations.skip)=true, and \(KateAnnotations.pinOperatorOwned)=true is not seen",
                        metadata: ["error": "\(error)"])
                }
            } else {
                logger.debug("namespace label lookup failed; treating as not opted out", metadata: ["namespace": "\(namespace)", "error": "\(error)"])
                // Remembered like an answer, so a struggling API server is asked once per TTL, not per review.
                cache.set(unknown, for: namespace)
            }
            return unknown
        }
    }
}
