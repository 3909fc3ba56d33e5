import Logging
import Testing

/// Every reliability suite runs inside this one, one test at a time: they measure deadlines on a
/// 2-core machine, and a dozen loopback servers handshaking in parallel would measure the
/// scheduler instead of kate.
@Suite("Reliability (fault injection)", .serialized)
enum Reliability {
    /// How late an answer may be against its deadline. The figure is 100 ms for the
    /// webhook under overload (scripts/overload.sh measures that); these tests share the CPU with
    /// the build and other suites, so they allow 250 ms before calling it a hang.
    static let deadlineSlack: Duration = .milliseconds(250)

    /// For the test servers' own chatter: what they log is not under test.
    static let quietLogger = Logger(label: "kate.reliability.quiet") { _ in SwiftLogNoOpLogHandler() }
}
