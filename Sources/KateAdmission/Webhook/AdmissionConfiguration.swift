/// How the mutating webhook behaves; built from `AdmissionOptions` by the executable.
public struct AdmissionConfiguration: Sendable {
    public enum Mode: String, Sendable, CaseIterable {
        /// Patch images to their digests.
        case pin
        /// Resolve and report what would change in `warnings`, but never patch.
        case warn
    }

    public enum FailureMode: String, Sendable, CaseIterable {
        /// An image that cannot be resolved in time stays unpinned, with a warning.
        case open
        /// The pod is denied, naming the image and why.
        case deny
    }

    public var mode: Mode
    public var failureMode: FailureMode
    public var policy: AdmissionPolicy
    /// Used when the request carries no `?timeout=` (the apiserver always sends one for v1 configs).
    public var defaultTimeout: Duration
    /// Kept free at the end of the apiserver's timeout for the answer's trip back.
    public var timeoutMargin: Duration
    /// Pin the last known digest when the registry fails, if it is at most this old; nil turns it off.
    public var staleIfError: Duration?
    /// The mutation-loop breaker's thresholds; nil turns it off (`--loop-breaker-creates 0`).
    public var loopBreaker: MutationLoopBreaker.Settings?

    public init(
        mode: Mode = .pin, failureMode: FailureMode = .open, policy: AdmissionPolicy = .init(),
        defaultTimeout: Duration = .seconds(10), timeoutMargin: Duration = .seconds(1), staleIfError: Duration? = .seconds(24 * 3600),
        loopBreaker: MutationLoopBreaker.Settings? = .init()
    ) {
        self.mode = mode
        self.failureMode = failureMode
        self.policy = policy
        self.defaultTimeout = defaultTimeout
        self.timeoutMargin = timeoutMargin
        self.staleIfError = staleIfError
        self.loopBreaker = loopBreaker
    }
}

/// The result label of `kate_admission_reviews_total`.
public enum AdmissionOutcome: String, Sendable, CaseIterable {
    case pinned, unchanged, skipped
    case failedOpen = "failed_open"
    case denied
}

