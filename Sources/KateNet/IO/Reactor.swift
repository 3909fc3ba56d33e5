#if canImport(Glibc)
import Glibc
#endif
import Synchronization
internal import CKateShims

/// kate's event loop: one epoll thread that resumes suspended async tasks when their socket is ready.
///
/// Why: the webhook must hold thousands of idle keep-alive connections (the API server keeps them open),
/// so a thread per connection is out. Every socket is non-blocking. A read or write first tries the
/// system call; only on EAGAIN does the task suspend, with a continuation parked here under the socket's
/// registration. The epoll thread (a dedicated OS thread, never the cooperative pool) resumes it when
/// epoll reports readiness, so an idle connection costs one fd and a small table entry — no thread, no
/// task running. Details:
/// - **Edge-triggered, with a per-socket "ready" flag** (guards the lost wake-up): every fd is added once
///   with EPOLLIN|EPOLLOUT|EPOLLET. An edge that arrives while nobody waits sets the flag; a task about
///   to park first consumes the flag and, if it was set, retries its system call instead of sleeping.
///   Registration and edge delivery both happen under one lock, so an edge between "EAGAIN" and
///   "park" is never lost (at worst it costs one spurious retry).
/// - **Deadlines**: parked waiters with a deadline sit in a min-heap; epoll_wait sleeps until the earliest
///   one, and expired waiters are resumed with `NetError(.timedOut)`. An eventfd wakes the thread when a
///   new, earlier deadline arrives.
/// - **Cancellation** of the awaiting task resumes its continuation with `CancellationError` at once.
/// - **Timers**: `sleep(until:)` parks a socket-less waiter in the same heap. Use it instead of `Task.sleep`
///   for timers that are usually cancelled (per-connection watchdogs): a cancelled `Task.sleep` keeps its
///   timer (a sleep task plus a Dispatch source, ~0.6 KiB) alive until the original deadline
///   (swiftlang/swift#60441), which made RSS grow with the connection rate × the handler timeout (bug 8);
///   cancelling a reactor sleep frees its entry at once.
/// - **Closing** removes the fd from epoll *before* close(2) and fails that fd's waiters with `.closed`,
///   so a recycled fd number can never deliver readiness to the wrong socket; tokens are never reused either.
final class Reactor: Sendable {
    enum Interest: Sendable { case read, write }

    /// A socket's entry in the reactor; created by `register(fd:)`, ended by `deregister(_:)`.
    struct Registration: Sendable, Hashable {
        fileprivate let token: UInt64
        fileprivate let fd: Int32
    }

    private struct Socket {
        var readReady = false
        var writeReady = false
        /// Usually zero or one each. More happen legitimately with TLS: a reader parked on "readable" while
        /// a writer's SSL_write needs to read a post-handshake message too. All are woken on readiness;
        /// whoever finds nothing to do parks again.
        var readers: [UInt64] = []
        var writers: [UInt64] = []

        mutating func remove(_ id: UInt64, _ interest: Interest) {
            switch interest {
            case .read: readers.removeAll { $0 == id }
            case .write: writers.removeAll { $0 == id }
            }
        }
    }

    private struct Waiter {
        /// The socket's token, or `timerToken` for `sleep(until:)`.
        let token: UInt64
        let interest: Interest
        let operation: String
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var sockets: [UInt64: Socket] = [:]
        var waiters: [UInt64: Waiter] = [:]
        var deadlines = DeadlineHeap()
        /// When the epoll thread will next wake on its own (nil: only on events). Lets `wait` skip
        /// the eventfd write unless its deadline is earlier.
        var plannedWake: ContinuousClock.Instant?

        /// Detaches a parked waiter from its socket and the deadline heap.
        mutating func takeWaiter(_ id: UInt64) -> Waiter? {
            guard let waiter = waiters.removeValue(forKey: id) else { return nil }
            deadlines.remove(id: id)
            if var socket = sockets[waiter.token] {
                socket.remove(id, waiter.interest)
                sockets[waiter.token] = socket
            }
            return waiter
        }

        /// Parks `waiter` (and its deadline, if any). Returns whether the epoll thread must be woken
        /// because this deadline is earlier than the one it sleeps toward.
        mutating func park(_ id: UInt64, _ waiter: Waiter, deadline: ContinuousClock.Instant?) -> Bool {
            waiters[id] = waiter
            guard let deadline else { return false }
            deadlines.insert(id: id, deadline: deadline)
            if let planned = plannedWake, planned <= deadline { return false }
            plannedWake = deadline
            return true
        }
    }

    private static let wakeToken: UInt64 = 0
    /// The token of `sleep(until:)` waiters: no socket has it (socket tokens start at 1), so they
    /// are only ever woken by their deadline or by cancellation.
    private static let timerToken: UInt64 = 0
    private static let maxEvents: Int32 = 256

    private let epollFD: Int32
    private let wakeFD: Int32
    private let state = Mutex(State())
    /// Socket tokens and waiter ids; never reused, so a stale event or cancellation cannot hit a newcomer.
    private let nextID = Atomic<UInt64>(1)

    private func makeID() -> UInt64 {
        nextID.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    /// The process-wide reactor, started on first use.
    static func shared() throws -> Reactor { try sharedReactor.get() }
    private static let sharedReactor: Result<Reactor, NetError> = Result { try Reactor() }.mapError {
        $0 as? NetError ?? NetError(.other, "cannot start the I/O reactor: \($0)")
    }

    private init() throws {
        _ = Posix.ignoreSIGPIPE
        epollFD = try Posix.checked("epoll_create1()") { ckate_epoll_create() }
        wakeFD = try Posix.eventFD()
        try Posix.checked("epoll_ctl(ADD eventfd)") { ckate_epoll_add(epollFD, wakeFD, Reactor.wakeToken) }
        try DetachedThread.start { [self] in self.runLoop() }
    }

    // MARK: - Registration

    func register(fd: Int32) throws -> Registration {
        let token = makeID()
        state.withLock { $0.sockets[token] = Socket() }
        do {
            try Posix.checked("epoll_ctl(ADD fd \(fd))") { ckate_epoll_add(epollFD, fd, token) }
        } catch {
            _ = state.withLock { $0.sockets.removeValue(forKey: token) }
            throw error
        }
        return Registration(token: token, fd: fd)
    }

    /// Removes the fd from epoll and fails its parked waiters with `.closed`. Call before close(2).
    func deregister(_ registration: Registration, reason: String) {
        let orphans: [Waiter] = state.withLock { state in
            guard let socket = state.sockets.removeValue(forKey: registration.token) else { return [] }
            return (socket.readers + socket.writers).compactMap { state.takeWaiter($0) }
        }
        _ = ckate_epoll_del(epollFD, registration.fd)
        for waiter in orphans { waiter.continuation.resume(throwing: NetError.closed(reason)) }
    }

    // MARK: - Waiting

    private enum Admission { case retry, parked(wake: Bool), fail(any Error) }

    /// Suspends until the socket is `interest`-ready, the deadline passes (`.timedOut`), the socket is
    /// deregistered (`.closed`) or the task is cancelled (`CancellationError`).
    /// Returns immediately if an edge arrived since the last wait: the caller then retries its system call.
    func wait(
        for interest: Interest, on registration: Registration, deadline: ContinuousClock.Instant?, operation: String
    ) async throws {
        let id = makeID()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let admission = state.withLock { state -> Admission in
                    guard var socket = state.sockets[registration.token] else {
                        return .fail(NetError.closed(operation))
                    }
                    // Checked under the lock: if cancellation raced ahead of us, its handler found nothing to resume.
                    if Task.isCancelled { return .fail(CancellationError()) }
                    switch interest {
                    case .read:
                        if socket.readReady { socket.readReady = false; state.sockets[registration.token] = socket; return .retry }
                        socket.readers.append(id)
                    case .write:
                        if socket.writeReady { socket.writeReady = false; state.sockets[registration.token] = socket; return .retry }
                        socket.writers.append(id)
                    }
                    if let deadline, deadline <= .now {
                        return .fail(NetError.timedOut(operation))
                    }
                    state.sockets[registration.token] = socket
                    let waiter = Waiter(token: registration.token, interest: interest, operation: operation, continuation: continuation)
                    return .parked(wake: state.park(id, waiter, deadline: deadline))
                }
                admit(admission, continuation)
            }
        } onCancel: {
            cancel(id)
        }
    }

    /// Suspends until `deadline`, or throws `CancellationError` as soon as the task is cancelled.
    ///
    /// Unlike `Task.sleep`, cancelling frees the timer at once (see the type's comment), so a watchdog
    /// that lives as long as a connection costs nothing once the connection is gone. Resolution: the
    /// epoll thread's millisecond timeout (rounded up, so it never returns early).
    func sleep(until deadline: ContinuousClock.Instant) async throws {
        let id = makeID()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let admission = state.withLock { state -> Admission in
                    if Task.isCancelled { return .fail(CancellationError()) }
                    if deadline <= .now { return .retry }
                    let waiter = Waiter(token: Reactor.timerToken, interest: .read, operation: "sleep", continuation: continuation)
                    return .parked(wake: state.park(id, waiter, deadline: deadline))
                }
                admit(admission, continuation)
            }
        } onCancel: {
            cancel(id)
        }
    }

    private func admit(_ admission: Admission, _ continuation: CheckedContinuation<Void, any Error>) {
        switch admission {
        case .retry: continuation.resume()
        case .fail(let error): continuation.resume(throwing: error)
        case .parked(let wake): if wake { wakeUp() }
        }
    }

    private func cancel(_ id: UInt64) {
        let waiter = state.withLock { $0.takeWaiter(id) }
        waiter?.continuation.resume(throwing: CancellationError())
    }

    /// How many tasks are parked waiting for `interest` on the socket (tests use it instead of sleeping).
    func waiterCount(for interest: Interest, on registration: Registration) -> Int {
        state.withLock { state in
            guard let socket = state.sockets[registration.token] else { return 0 }
            return interest == .read ? socket.readers.count : socket.writers.count
        }
    }

    /// Parked sleeps and socket waits whose deadline is after `instant` (tests: a timer that
    /// outlives its owner shows up here).
    func timerCount(after instant: ContinuousClock.Instant) -> Int {
        state.withLock { state in state.deadlines.count(where: { $0 > instant }) }
    }

    private func wakeUp() {
        // Can only fail on a closed descriptor, which the reactor never hands out while running.
        try? Posix.signalEventFD(wakeFD)
    }

    // MARK: - The epoll thread

    private func runLoop() {
        var tokens = [UInt64](repeating: 0, count: Int(Reactor.maxEvents))
        var readiness = [UInt32](repeating: 0, count: Int(Reactor.maxEvents))
        while true {
            let timeout = state.withLock { state -> Int32 in
                state.plannedWake = state.deadlines.earliest
                return Reactor.milliseconds(until: state.plannedWake)
            }
            let count = ckate_epoll_wait(epollFD, &tokens, &readiness, Reactor.maxEvents, timeout)
            if count < 0 && errno != EINTR {
                // Only EBADF/EFAULT/EINVAL are possible: a program bug, not an I/O condition.
                preconditionFailure("epoll_wait failed: \(NetError.describe(errno: errno))")
            }
            var ready: [Waiter] = []
            var expired: [Waiter] = []
            state.withLock { state in
                for index in 0..<max(0, Int(count)) where tokens[index] != Reactor.wakeToken {
                    Reactor.deliver(readiness[index], to: tokens[index], in: &state, resuming: &ready)
                }
                for id in state.deadlines.popExpired(now: .now) {
                    if let waiter = state.takeWaiter(id) { expired.append(waiter) }
                }
            }
            if count > 0 && tokens[0..<Int(count)].contains(Reactor.wakeToken) { drainWakeFD() }
            for waiter in ready { waiter.continuation.resume() }
            for waiter in expired {
                if waiter.token == Reactor.timerToken {
                    waiter.continuation.resume()
                } else {
                    waiter.continuation.resume(throwing: NetError.timedOut(waiter.operation))
                }
            }
        }
    }

    private static func deliver(_ bits: UInt32, to token: UInt64, in state: inout State, resuming ready: inout [Waiter]) {
        guard var socket = state.sockets[token] else { return }  // deregistered while the event was in flight
        if bits & CKATE_READABLE != 0 { wake(&socket.readers, orRemember: &socket.readReady, in: &state, into: &ready) }
        if bits & CKATE_WRITABLE != 0 { wake(&socket.writers, orRemember: &socket.writeReady, in: &state, into: &ready) }
        state.sockets[token] = socket
    }

    /// Moves every parked waiter in `ids` to `ready`; with nobody parked, sets `flag` instead, or the next
    /// waiter would sleep through readiness that already happened (edge-triggered epoll reports it once).
    private static func wake(_ ids: inout [UInt64], orRemember flag: inout Bool, in state: inout State, into ready: inout [Waiter]) {
        if ids.isEmpty {
            flag = true
            return
        }
        for id in ids {
            state.deadlines.remove(id: id)
            if let waiter = state.waiters.removeValue(forKey: id) { ready.append(waiter) }
        }
        ids.removeAll()
    }

    private func drainWakeFD() {
        try? Posix.drainEventFD(wakeFD)
    }

    /// epoll_wait's timeout for a deadline: rounded up so we never wake just before it and spin.
    private static func milliseconds(until deadline: ContinuousClock.Instant?) -> Int32 {
        guard let deadline else { return -1 }
        let remaining = ContinuousClock.now.duration(to: deadline)
        if remaining <= .zero { return 0 }
        let (seconds, attoseconds) = remaining.components
        let millis = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: millis)
    }
}
