import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns SIGTERM / SIGINT into an async wait, for graceful shutdown.
///
/// Create it first thing (before the listener is up): from then on the signals no longer kill
/// the process. Their default action is replaced by SIG_IGN and a DispatchSource (which still sees
/// ignored signals) records them. Kubernetes sends SIGTERM, waits `terminationGracePeriodSeconds`,
/// then SIGKILL; the grace period flag should stay below that.
public final class ShutdownSignals: Sendable {
    private final class Delivery: Sendable {
        struct State {
            var received: Int32?
            var waiters: [CheckedContinuation<Int32, Never>] = []
        }
        let state = Mutex(State())

        func deliver(_ signo: Int32) {
            let waiters = state.withLock { state -> [CheckedContinuation<Int32, Never>] in
                guard state.received == nil else { return [] }
                state.received = signo
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume(returning: signo) }
        }
    }

    private let delivery = Delivery()
    private let sources: Mutex<[any DispatchSourceSignal]>

    public init(_ signals: [Int32] = [SIGTERM, SIGINT]) {
        let queue = DispatchQueue(label: "kate.shutdown-signals")
        var sources: [any DispatchSourceSignal] = []
        for signo in signals {
            signal(signo, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signo, queue: queue)
            source.setEventHandler { [delivery] in delivery.deliver(signo) }
            source.resume()
            sources.append(source)
        }
        self.sources = Mutex(sources)
    }

    deinit {
        sources.withLock { $0.forEach { $0.cancel() } }
    }

    /// Waits for the first signal and returns its name ("SIGTERM"). Later calls return at once.
    public func wait() async -> String {
        let signo: Int32 = await withCheckedContinuation { continuation in
            let now = delivery.state.withLock { state -> Int32? in
                if let received = state.received { return received }
                state.waiters.append(continuation)
                return nil
            }
            if let now { continuation.resume(returning: now) }
        }
        return Self.name(of: signo)
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
}
