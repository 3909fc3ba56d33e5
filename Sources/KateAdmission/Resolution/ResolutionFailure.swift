import KateRegistry

/// Why one image could not be pinned, in the two lengths kate needs: a short reason for the
/// ≤120-character warning and the full text for the log line and a denial message.
public struct ResolutionFailure: Error, Sendable, Equatable {
    public enum Kind: String, Sendable {
        case timeout, unauthorized, notFound, unavailable, rateLimited, invalid
    }

    public var image: String
    public var kind: Kind
    public var reason: String
    public var detail: String
    /// The registry's outage was already known (its circuit is open, or this tag's transport failure is
    /// remembered): the resolver logged it when the circuit opened, so a review failing on it is not news.
    public var outageAlreadyReported = false

    /// A failure that may go away by itself (the registry is slow or down), as opposed to one the
    /// user must fix (wrong tag, missing credentials).
    public var isTransient: Bool {
        switch kind {
        case .timeout, .unavailable, .rateLimited: true
        case .unauthorized, .notFound, .invalid: false
        }
    }

    public init(image: String, kind: Kind, reason: String, detail: String) {
        self.image = image
        self.kind = kind
        self.reason = reason
        self.detail = detail
    }

    static func deadlineReached(image: String, budget: Duration) -> ResolutionFailure {
        let text = "no registry answer within the \(GoDuration.humanize(budget)) admission deadline"
        return ResolutionFailure(image: image, kind: .timeout, reason: text, detail: text)
    }

    static func classify(_ error: any Error, image: String) -> ResolutionFailure {
        if let failure = error as? ResolutionFailure { return failure }
        let detail = "\(error)"
        guard let registryError = error as? RegistryError else {
            if error is CancellationError {
                return ResolutionFailure(image: image, kind: .timeout, reason: "cancelled at the admission deadline", detail: detail)
            }
            return ResolutionFailure(image: image, kind: .unavailable, reason: "registry unreachable", detail: detail)
        }
        switch registryError.kind {
        case .unauthorized: return .init(image: image, kind: .unauthorized, reason: "registry denied access (401)", detail: detail)
        case .tagNotFound: return .init(image: image, kind: .notFound, reason: "tag not found", detail: detail)
        case .repositoryNotFound: return .init(image: image, kind: .notFound, reason: "repository not found", detail: detail)
        case .timeout: return .init(image: image, kind: .timeout, reason: "registry timed out", detail: detail)
        case .rateLimited: return .init(image: image, kind: .rateLimited, reason: "registry rate limit (429)", detail: detail)
        case .tls: return .init(image: image, kind: .unavailable, reason: "TLS error talking to the registry", detail: detail)
        case .server: return .init(image: image, kind: .unavailable, reason: "registry server error", detail: detail)
        case .network:
            // The resolver's circuit for this registry is open: say since when, so a warning read
            // later still tells how long the outage had lasted.
            let since = registryError.unreachableSince.map { " since " + UTCTimestamp.string(from: $0) } ?? ""
            var failure = ResolutionFailure(image: image, kind: .unavailable, reason: "registry unreachable" + since, detail: detail)
            failure.outageAlreadyReported = registryError.unreachableSince != nil
            return failure
        case .invalidResponse: return .init(image: image, kind: .invalid, reason: "invalid registry response", detail: detail)
        }
    }
}
