import KateNet

/// When the answer to one review must be on the wire.
public enum AdmissionDeadline {
    /// The apiserver's `timeout` query (or `defaultTimeout`), minus `margin` for the response's
    /// trip back and kate's own encoding; never later than the server's handler deadline. A margin
    /// as large as the timeout itself would leave nothing, so the margin is then capped at half
    /// the timeout.
    public static func compute(
        timeoutQuery: String?, defaultTimeout: Duration, margin: Duration,
        now: ContinuousClock.Instant, serverDeadline: ContinuousClock.Instant
    ) -> ContinuousClock.Instant {
        var timeout = defaultTimeout
        if let query = timeoutQuery, let parsed = GoDuration.parse(query), parsed > .zero { timeout = parsed }
        let effectiveMargin = margin < timeout ? margin : timeout / 2
        let wanted = now + (timeout - effectiveMargin)
        return min(wanted, serverDeadline)
    }
}
