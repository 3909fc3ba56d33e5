#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Owns one non-blocking socket fd and its reactor registration; the only place that closes the fd.
///
/// System calls run through `withDescriptor`, which counts users: `close()` from another task while a
/// call is in flight defers close(2) to the last user, so a recycled fd number can never be hit.
final class SocketHandle: Sendable {
    private struct State {
        var closed = false
        /// Set once the fd left epoll; only then may close(2) run (else a recycled fd number could be deregistered).
        var deregistered = false
        var users = 0
    }

    let reactor: Reactor
    private let fd: Int32
    private let registration: Reactor.Registration
    private let state = Mutex(State())
    /// For messages: "TCP stream to 127.0.0.1:5555", "listener on [::]:8443".
    let label: String

    /// Takes ownership of `fd` (closes it if registration fails).
    init(fd: Int32, label: String) throws {
        do {
            let reactor = try Reactor.shared()
            self.registration = try reactor.register(fd: fd)
            self.reactor = reactor
        } catch {
            Posix.close(fd)
            throw error
        }
        self.fd = fd
        self.label = label
    }

    deinit {
        // The last reference went away without close(): release the fd rather than leak it.
        if !state.withLock({ $0.closed }) {
            reactor.deregister(registration, reason: label)
            Posix.close(fd)
        }
    }

    var isClosed: Bool { state.withLock { $0.closed } }

    /// Runs `body` with the fd, or throws `.closed` if `close()` already ran.
    func withDescriptor<T>(_ body: (Int32) throws -> T) throws -> T {
        try state.withLock { state in
            guard !state.closed else { throw NetError.closed(label) }
            state.users += 1
        }
        defer {
            let closeNow = state.withLock { state in
                state.users -= 1
                return state.deregistered && state.users == 0
            }
            if closeNow { Posix.close(fd) }
        }
        return try body(fd)
    }

    func wait(for interest: Reactor.Interest, deadline: ContinuousClock.Instant?, operation: @autoclosure () -> String) async throws {
        try await reactor.wait(for: interest, on: registration, deadline: deadline, operation: operation())
    }

    func waiterCount(for interest: Reactor.Interest) -> Int {
        reactor.waiterCount(for: interest, on: registration)
    }

    func hasWaiter(for interest: Reactor.Interest) -> Bool {
        waiterCount(for: interest) > 0
    }

    /// Deregisters from epoll (failing parked waiters with `.closed`), then closes the fd once no call uses it.
    func close() {
        let first = state.withLock { state in
            defer { state.closed = true }
            return !state.closed
        }
        guard first else { return }
        reactor.deregister(registration, reason: label)
        let closeNow = state.withLock { state in
            state.deregistered = true
            return state.users == 0
        }
        if closeNow { Posix.close(fd) }
    }

    /// shutdown(SHUT_WR): sends FIN but keeps reading possible.
    func shutdownWrite() {
        // Best effort: a socket already closed, or whose peer already left, has nothing left to shut down.
        try? withDescriptor { try Posix.shutdownWrite($0) }
    }
}
