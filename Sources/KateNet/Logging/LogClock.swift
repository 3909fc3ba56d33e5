#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall-clock time for log lines, as whole seconds and nanoseconds since the Unix epoch.
/// A protocol so a test can fix the time and see that a line's timestamp comes from the clock
/// by arithmetic alone (no per-line date formatter, no time-zone database).
public protocol LogClock: Sendable {
    func now() -> LogTime
}

/// Seconds and nanoseconds since 1970-01-01T00:00:00Z.
public struct LogTime: Sendable, Equatable {
    public var seconds: Int64
    public var nanoseconds: Int32

    public init(seconds: Int64, nanoseconds: Int32 = 0) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }
}

/// `clock_gettime(CLOCK_REALTIME)`: one vDSO call, no allocation.
public struct SystemLogClock: LogClock {
    public init() {}

    public func now() -> LogTime {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return LogTime(seconds: Int64(spec.tv_sec), nanoseconds: Int32(spec.tv_nsec))
    }
}
