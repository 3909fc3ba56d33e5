import KateNet
import Logging
import Synchronization

/// swift-log may be bootstrapped once per process; subcommands call this first thing.
enum LoggingBootstrap {
    private static let done = Mutex(false)

    static func once(format: LogFormat, level: Logger.Level) {
        let first = done.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        // One clock and one sink for every logger: both are stateless, so sharing costs nothing.
        let clock = SystemLogClock()
        let sink = FileDescriptorLogSink.standardError
        LoggingSystem.bootstrap { label in
            KateLogHandler(label: label, format: format, level: level, clock: clock, sink: sink)
        }
    }
}
