import KateNet
import Synchronization

/// A counting semaphore for async code: waiters are resumed in FIFO order and give up at their
/// deadline, so a burst of admission requests queues instead of opening hundreds of connections,
/// and nothing waits past the apiserver's timeout.
final class AsyncSemaphore: Sendable {
    struct TimedOut: Error {}

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var available: Int
        var waiters: [Waiter] = []
        /// Waiters whose deadline or cancellation came before they were queued.
        var abandoned: [UInt64: any Error] = [:]
        var nextID: UInt64 = 0
    }

    private let state: Mutex<State>

    init(permits: Int) {
        state = Mutex(State(available: max(1, permits)))
    }

    /// - Throws: `TimedOut` at the deadline, `CancellationError` when the task is cancelled.
    func acquire(deadline: ContinuousClock.Instant) async throws {
        let fastPath = state.withLock { s -> Bool in
            guard s.available > 0, s.waiters.isEmpty else { return false }
            s.available -= 1
            return true
        }
        if fastPath { return }
        let id = state.withLock { s in s.nextID += 1; return s.nextID }
        // The timer task fails the waiter at its deadline; cancelled as soon as a permit arrives.
        let timer = Task { [weak self] in
            try await sleepCancellably(until: deadline)
            self?.fail(id, with: TimedOut())
        }
        defer {
            timer.cancel()
            // A timer that fired just as the permit arrived leaves a marker behind; drop it.
            state.withLock { s in _ = s.abandoned.removeValue(forKey: id) }
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let immediate = state.withLock { s -> Result<Void, any Error>? in
                    if let error = s.abandoned.removeValue(forKey: id) { return .failure(error) }
                    if s.available > 0, s.waiters.isEmpty {
                        s.available -= 1
                        return .success(())
                    }
                    s.waiters.append(Waiter(id: id, continuation: continuation))
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            fail(id, with: CancellationError())
        }
    }

    func release() {
        let next = state.withLock { s -> Waiter? in
            if s.waiters.isEmpty {
                s.available += 1
                return nil
            }
            return s.waiters.removeFirst()
        }
        next?.continuation.resume()
    }

    /// Runs `body` holding a permit.
    func withPermit<T: Sendable>(deadline: ContinuousClock.Instant, _ body: () async throws -> T) async throws -> T {
        try await acquire(deadline: deadline)
        defer { release() }
        return try await body()
    }

    private func fail(_ id: UInt64, with error: any Error) {
        let waiter = state.withLock { s -> Waiter? in
            guard let index = s.waiters.firstIndex(where: { $0.id == id }) else {
                s.abandoned[id] = error
                return nil
            }
            return s.waiters.remove(at: index)
        }
        waiter?.continuation.resume(throwing: error)
    }
}
