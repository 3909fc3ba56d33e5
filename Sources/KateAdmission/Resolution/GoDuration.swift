import Foundation

/// Parses Go's `time.Duration` notation, which the apiserver uses in `?timeout=10s` and kate
/// uses for its duration flags: a sequence of decimal numbers with units
/// (`ns`, `us`, `µs`, `ms`, `s`, `m`, `h`), e.g. `10s`, `500ms`, `1m30s`, `1.5h`.
public enum GoDuration {
    public static func parse(_ text: String) -> Duration? {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        guard !rest.isEmpty else { return nil }
        if rest == "0" { return .zero }
        var total = Duration.zero
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, let value = Double(number), value.isFinite else { return nil }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { !($0.isASCII && ($0.isNumber || $0 == ".")) }
            rest = rest.dropFirst(unit.count)
            let nanosPerUnit: Double
            switch unit {
            case "ns": nanosPerUnit = 1
            case "us", "µs", "μs": nanosPerUnit = 1e3
            case "ms": nanosPerUnit = 1e6
            case "s": nanosPerUnit = 1e9
            case "m": nanosPerUnit = 60e9
            case "h": nanosPerUnit = 3600e9
            default: return nil
            }
            let nanos = value * nanosPerUnit
            guard nanos < 9.2e18 else { return nil }
            total += .nanoseconds(Int64(nanos))
        }
        return total
    }

    /// `3h`, `12m`, `45s`, `800ms`: the coarsest unit that keeps the number whole-ish, for
    /// warnings that must stay short.
    public static func humanize(_ duration: Duration) -> String {
        let ms = Int64(duration / .milliseconds(1))
        if ms >= 3_600_000 { return "\(ms / 3_600_000)h" }
        if ms >= 60_000 { return "\(ms / 60_000)m" }
        if ms >= 1_000 { return "\(ms / 1_000)s" }
        return "\(ms)ms"
    }
}

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
