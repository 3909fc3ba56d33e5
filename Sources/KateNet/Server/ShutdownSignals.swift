import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns SIGTERM / SIGINT into an async wait, for graceful shutdown.
///
/// The signals' default action (terminate) is replaced by SIG_IGN so the process survives
/// them, and a DispatchSource (which sees ignored signals through signalfd/kqueue) reports them
/// on a private queue. Kubernetes sends SIGTERM, waits `terminationGracePeriodSeconds`, then SIGKILL.
public enum ShutdownSignals {
    /// Waits until one of `signals` arrives and returns its name ("SIGTERM").
    public static func wait(for signals: [Int32] = [SIGTERM, SIGINT]) async -> String {
        let queue = DispatchQueue(label: "kate.shutdown-signals")
        let box = SourceBox()
        let number: Int32 = await withCheckedContinuation { continuation in
            let once = ResumeOnce(continuation)
            for signo in signals {
                signal(signo, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signo, queue: queue)
                source.setEventHandler { once.resume(signo) }
                source.resume()
                box.sources.append(source)
            }
        }
        queue.sync { for source in box.sources { source.cancel() } }
        return name(of: number)
    }

    public static func name(of signo: Int32) -> String {
        switch signo {
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        case SIGHUP: "SIGHUP"
        case SIGQUIT: "SIGQUIT"
        default: "signal \(signo)"
        }
    }

    /// Holds the sources alive until the wait ends (a cancelled or released source stops reporting).
    private final class SourceBox: @unchecked Sendable {
        // Only touched on the creating task and then under `queue.sync`.
        var sources: [any DispatchSourceSignal] = []
    }

    private final class ResumeOnce: @unchecked Sendable {
        // Handlers all run on one serial queue, so `done` needs no lock.
        private var continuation: CheckedContinuation<Int32, Never>?
        init(_ continuation: CheckedContinuation<Int32, Never>) { self.continuation = continuation }
        func resume(_ signo: Int32) {
            continuation?.resume(returning: signo)
            continuation = nil
        }
    }
}
