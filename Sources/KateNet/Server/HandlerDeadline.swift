import Synchronization

/// The handler deadline of one connection, enforced by a watchdog task that lives as long as the
/// connection (not a timer per request: at thousands of requests per second, a child task and a
/// timer for every request cost more than the requests themselves).
///
/// The connection task runs each handler inline and reports `begin`/`finish`; the watchdog sleeps
/// until the running request's deadline (or one handler timeout ahead when idle: any request that
/// starts meanwhile has a later deadline) and claims an overdue request with `expire`. Exactly one
/// side wins the request, and only the winner writes its answer.
final class HandlerDeadline: Sendable {
    struct Running: Sendable {
        let sequence: Int
        let deadline: ContinuousClock.Instant
        let started: ContinuousClock.Instant
        let method: String
        let path: String
        let version: HTTPVersion
    }

    private enum State {
        case idle
        case running(Running)
        case expired
    }

    private let state = Mutex<(State, next: Int)>((.idle, 0))

    /// A handler starts. Returns its sequence number for `finish`.
    func begin(_ request: HTTPRequest, started: ContinuousClock.Instant, deadline: ContinuousClock.Instant) -> Int {
        state.withLock { state in
            let sequence = state.next
            state.next += 1
            state.0 = .running(Running(
                sequence: sequence, deadline: deadline, started: started, method: request.method, path: request.path, version: request.version))
            return sequence
        }
    }

    /// The handler returned. False if the watchdog already answered for it (the connection is closing).
    func finish(_ sequence: Int) -> Bool {
        state.withLock { state in
            guard case .running(let running) = state.0, running.sequence == sequence else { return false }
            state.0 = .idle
            return true
        }
    }

    /// When the watchdog should look next: the running handler's deadline, else nil.
    var runningDeadline: ContinuousClock.Instant? {
        state.withLock { state in
            if case .running(let running) = state.0 { running.deadline } else { nil }
        }
    }

    /// Claims the running request if its deadline has passed; the caller then answers for it.
    func expire(now: ContinuousClock.Instant) -> Running? {
        state.withLock { state in
            guard case .running(let running) = state.0, running.deadline <= now else { return nil }
            state.0 = .expired
            return running
        }
    }
}
