import KateNet
import Synchronization

/// Collapses concurrent calls with the same key into one: when 200 pods of one Deployment are
/// admitted at once, the registry sees one request per tag, not 200.
///
/// The shared work runs in an unstructured task so one caller giving up (its own deadline, its
/// task cancelled) does not fail the others; each caller still stops waiting at its own deadline.
package final class SingleFlight<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let flights = Mutex<[Key: Flight<Value>]>([:])

    package init() {}

    /// Number of flights in progress (for tests and debugging).
    var inFlight: Int { flights.withLock { $0.count } }

    /// How many callers wait on the flight for `key` (0 when none is running).
    func callers(for key: Key) -> Int { flights.withLock { $0[key]?.callers ?? 0 } }

    package func run(_ key: Key, deadline: ContinuousClock.Instant, _ work: @escaping @Sendable () async throws -> Value) async throws -> Value {
        let (flight, isNew) = flights.withLock { map -> (Flight<Value>, Bool) in
            if let existing = map[key] {
                existing.join()
                return (existing, false)
            }
            let flight = Flight<Value>(progress: LookupProgress())
            map[key] = flight
            return (flight, true)
        }
        if isNew {
            Task { [self] in
                let result: Result<Value, any Error>
                do {
                    let value = try await LookupProgress.$current.withValue(flight.progress) { try await work() }
                    result = .success(value)
                } catch {
                    result = .failure(error)
                }
                // Forget the flight before publishing, so a call arriving after completion starts
                // fresh instead of reusing a result that is already on its way out.
                flights.withLock { map in
                    if map[key] === flight { map[key] = nil }
                }
                flight.finish(result)
            }
        }
        return try await flight.wait(until: deadline)
    }
}

/// One shared execution: its result, and the callers waiting for it.
private final class Flight<Value: Sendable>: Sendable {
    /// What the shared work is waiting for, for callers that give up.
    let progress: LookupProgress

    init(progress: LookupProgress) { self.progress = progress }

    private struct State {
        var result: Result<Value, any Error>?
        var waiters: [UInt64: CheckedContinuation<Value, any Error>] = [:]
        /// Waiters that gave up before their continuation was registered.
        var abandoned: [UInt64: any Error] = [:]
        var nextID: UInt64 = 0
        var callers = 1
    }

    private let state = Mutex(State())

    var callers: Int { state.withLock { $0.callers } }

    func join() { state.withLock { $0.callers += 1 } }

    func finish(_ result: Result<Value, any Error>) {
        let waiters = state.withLock { s in
            s.result = result
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for waiter in waiters { waiter.resume(with: result) }
    }

    func wait(until deadline: ContinuousClock.Instant) async throws -> Value {
        let id = state.withLock { s in
            s.nextID += 1
            return s.nextID
        }
        let timer = Task { [weak self] in
            try await sleepCancellably(until: deadline)
            guard let self else { return }
            self.abandon(id, with: SingleFlightWaitTimedOut(step: self.progress.describe()))
        }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
                let immediate = state.withLock { s -> Result<Value, any Error>? in
                    if let result = s.result { return result }
                    if let error = s.abandoned.removeValue(forKey: id) { return .failure(error) }
                    s.waiters[id] = continuation
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            abandon(id, with: CancellationError())
        }
    }

    private func abandon(_ id: UInt64, with error: any Error) {
        let waiter = state.withLock { s -> CheckedContinuation<Value, any Error>? in
            if let waiter = s.waiters.removeValue(forKey: id) { return waiter }
            if s.result == nil { s.abandoned[id] = error }
            return nil
        }
        waiter?.resume(throwing: error)
    }
}

/// A caller's own deadline passed while it waited for a flight another caller started.
struct SingleFlightWaitTimedOut: Error {
    /// What the shared lookup was waiting for ("no response to HEAD … within 8 s"), when known.
    let step: String?
}
