import KateNet
import KateRegistry

/// Why one image could not be pinned, in the two lengths kate needs: a short reason for the
/// ≤120-character warning and the full text for the log line and a denial message.
public struct ResolutionFailure: Error, Sendable, Equatable {
    /// The failure taxonomy (`auth`, `absent`, `unavailable`, …): one definition, in KateRegistry.
    public typealias Kind = FailureClass

    public var image: String
    public var kind: FailureClass
    /// The warning's reason: what happened, its class and what to do, short enough for 120 characters.
    public var reason: String
    public var detail: String
    /// The registry's outage was already known (its circuit is open, or this tag's transport failure is
    /// remembered): the resolver logged it when the circuit opened, so a review failing on it is not news.
    public var outageAlreadyReported = false

    /// A failure that may go away by itself (the registry is slow or down), as opposed to one the
    /// user must fix (wrong tag, missing credentials).
    public var isTransient: Bool { kind.isTransient }

    public init(image: String, kind: FailureClass, reason: String, detail: String) {
        self.image = image
        self.kind = kind
        self.reason = reason
        self.detail = detail
    }

    /// `what [class]; fix`: the class in brackets, so a warning reads the same as a metric label.
    static func reason(_ what: String, _ kind: FailureClass, fix: String) -> String { "\(what) [\(kind)]; \(fix)" }

    static func deadlineReached(image: String, budget: Duration) -> ResolutionFailure {
        let text = "no registry answer within the \(GoDuration.humanize(budget)) admission deadline"
        // Short: a 40-character image, the class and the fix must fit the 120-character warning.
        let short = "no registry answer in \(GoDuration.humanize(budget))"
        return ResolutionFailure(image: image, kind: .timeout, reason: reason(short, .timeout, fix: "is the registry slow?"), detail: text)
    }

    static func classify(_ error: any Error, image: String) -> ResolutionFailure {
        if let failure = error as? ResolutionFailure { return failure }
        let detail = "\(error)"
        let kind = FailureClass(error)
        guard let registryError = error as? RegistryError else {
            if error is CancellationError {
                return ResolutionFailure(image: image, kind: kind, reason: reason("cancelled at the admission deadline", kind, fix: "see kate's log"), detail: detail)
            }
            if kind == .badReference {
                return ResolutionFailure(image: image, kind: kind, reason: reason("invalid image reference", kind, fix: "fix the image field"), detail: detail)
            }
            return ResolutionFailure(image: image, kind: kind, reason: reason("registry unreachable", kind, fix: "see kate's log"), detail: detail)
        }
        let status = registryError.status.map { " (\($0))" } ?? ""
        // Short fixes: the warning has 120 characters for the image, the reason and this; the log
        // line and a denial carry the full advice (`detail`).
        let secret = registryError.matchedSources.first.map { $0.split(separator: " (").first.map(String.init) ?? $0 }
        switch registryError.kind {
        case .unauthorized where kind == .authz:
            return .init(image: image, kind: kind, reason: reason("registry denied access\(status)", kind, fix: "\(secret ?? "the secret") lacks pull access"), detail: detail)
        case .unauthorized:
            let fix = secret.map { "check \($0)" } ?? "add an imagePullSecret for \(registryError.registry)"
            return .init(image: image, kind: kind, reason: reason("registry denied access\(status)", kind, fix: fix), detail: detail)
        case .tagNotFound: return .init(image: image, kind: kind, reason: reason("tag not found", kind, fix: "check the tag or push it"), detail: detail)
        case .repositoryNotFound: return .init(image: image, kind: kind, reason: reason("repository not found", kind, fix: "check the image name"), detail: detail)
        case .timeout: return .init(image: image, kind: kind, reason: reason("registry timed out", kind, fix: "check network policy/proxy"), detail: detail)
        case .rateLimited: return .init(image: image, kind: kind, reason: reason("registry rate limit (429)", kind, fix: "add a pull secret or a mirror"), detail: detail)
        case .tls: return .init(image: image, kind: kind, reason: reason("TLS error talking to the registry", kind, fix: "set caFile in --registry-config"), detail: detail)
        case .server: return .init(image: image, kind: kind, reason: reason("registry server error\(status)", kind, fix: "retry later"), detail: detail)
        case .network:
            // The resolver's circuit for this registry is open: say since when, so a warning read
            // later still tells how long the outage had lasted.
            let since = registryError.unreachableSince.map { " since " + UTCTimestamp.string(from: $0) } ?? ""
            var failure = ResolutionFailure(image: image, kind: kind, reason: reason("registry unreachable" + since, kind, fix: "check DNS/proxy"), detail: detail)
            failure.outageAlreadyReported = registryError.unreachableSince != nil
            return failure
        case .invalidResponse: return .init(image: image, kind: kind, reason: reason("invalid registry response", kind, fix: "see kate's log"), detail: detail)
        }
    }
}
