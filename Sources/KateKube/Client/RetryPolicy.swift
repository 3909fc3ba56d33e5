/// When and how long `KubeClient` waits before trying a call again.
///
/// Idempotent calls (GET, LIST) retry on connection failures, 5xx and 429. Writes (PATCH, POST,
/// DELETE) retry only when the connection failed before the request was sent, since a retried
/// write after an ambiguous failure could act twice; a 429 on a write is returned to the caller
/// with its Retry-After.
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

    /// Exponential with full jitter in [backoff/2, backoff].
    func backoff(afterAttempt attempt: Int) -> Duration {
        let exponent = min(attempt - 1, 16)
        let base = min(initialBackoff * (1 << exponent), maxBackoff)
        let half = base / 2
        return half + half * Double.random(in: 0...1)
    }
}
