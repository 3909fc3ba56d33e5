#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date, for the registry client and the
/// Kubernetes client alike. Parsed by arithmetic (KateNet has no Foundation dependency).
public enum RetryAfter {
    /// The wait the header asks for; nil when absent or unparseable. A date in the past is no wait.
    /// `now` is wall-clock seconds since 1970 (the clock an HTTP-date is measured against).
    public static func parse(_ value: String?, now: Double = wallClockSeconds()) -> Duration? {
        guard let value = value?.trimmingASCIISpaces, !value.isEmpty else { return nil }
        if let seconds = Int64(value) { return seconds >= 0 ? .seconds(seconds) : nil }
        guard let date = HTTPDate.secondsSince1970(value) else { return nil }
        let interval = max(0, Double(date) - now)
        return .milliseconds(Int64(interval * 1000))
    }

    /// `clock_gettime(CLOCK_REALTIME)` as seconds.
    public static func wallClockSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1_000_000_000
    }
}

extension String {
    fileprivate var trimmingASCIISpaces: String {
        var view = Substring(self)
        while let first = view.first, first == " " || first == "\t" { view = view.dropFirst() }
        while let last = view.last, last == " " || last == "\t" { view = view.dropLast() }
        return String(view)
    }
}
