/// When and how long a client waits before trying a request again, for the registry client and the
/// Kubernetes client alike: exponential backoff with jitter, or the server's `Retry-After` when it
/// asks for a wait the caller is willing to honour. Which failures are worth a retry is the
/// caller's business (a registry HEAD and a Kubernetes PATCH differ).
public struct RetryPolicy: Sendable, Equatable {
    /// Total attempts including the first.
    public var maxAttempts: Int
    public var initialBackoff: Duration
    public var maxBackoff: Duration
    /// Retry-After values above this are not waited out; the error is returned instead.
    public var maxRetryAfter: Duration

    public init(maxAttempts: Int = 4, initialBackoff: Duration = .milliseconds(200), maxBackoff: Duration = .seconds(5), maxRetryAfter: Duration = .seconds(30)) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.maxRetryAfter = maxRetryAfter
    }

    /// Exponential with jitter in [backoff/2, backoff]; `attempt` counts from 1 (the first try).
    public func backoff(afterAttempt attempt: Int) -> Duration {
        let exponent = min(max(attempt - 1, 0), 16)
        let base = min(initialBackoff * (1 << exponent), maxBackoff)
        let half = base / 2
        return half + half * Double.random(in: 0...1)
    }

    /// The wait before the attempt after `attempt` (counting from 1): the server's `Retry-After`
    /// when it gave one, else the backoff. Nil when no attempt is left or the server asks for more
    /// than `maxRetryAfter`.
    public func delay(afterAttempt attempt: Int, retryAfter: Duration?) -> Duration? {
        guard attempt < maxAttempts else { return nil }
        if let retryAfter { return retryAfter <= maxRetryAfter ? retryAfter : nil }
        return backoff(afterAttempt: attempt)
    }
}
