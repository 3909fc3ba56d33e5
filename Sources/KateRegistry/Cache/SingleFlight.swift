import Synchronization

/// Collapses concurrent calls with the same key into one: when 200 pods of one Deployment are
/// admitted at once, the registry sees one request per tag, not 200.
///
/// The shared work runs in an unstructured task so one caller giving up (its own deadline, its
/// task cancelled) does not fail the others; each caller still stops waiting at its own deadline.
final class SingleFlight<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Flight {
        let task: Task<Value, any Error>
        let deadline: ContinuousClock.Instant
        var callers = 1
    }

    private let flights = Mutex<[Key: Flight]>([:])

    /// Number of flights in progress (for tests and debugging).
    var inFlight: Int { flights.withLock { $0.count } }

    /// How many callers wait on the flight for `key` (0 when none is running).
    func callers(for key: Key) -> Int { flights.withLock { $0[key]?.callers ?? 0 } }

    /// - Parameter joined: set to true when this call attached to an existing flight.
    func run(
        _ key: Key, deadline: ContinuousClock.Instant, joined: JoinFlag? = nil,
        _ work: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        let (flight, isNew) = flights.withLock { map -> (Flight, Bool) in
            if let existing = map[key] {
                map[key]?.callers += 1
                return (existing, false)
            }
            let task = Task { try await work() }
            let flight = Flight(task: task, deadline: deadline)
            map[key] = flight
            return (flight, true)
        }
        joined?.set(!isNew)
        if isNew {
            // Whoever started the flight removes it, after it finished (success or failure), so the
            // next call after completion starts fresh instead of reusing a stale result.
            Task { [self] in
                _ = try? await flight.task.value
                self.flights.withLock { map in
                    if map[key]?.task == flight.task { map[key] = nil }
                }
            }
        }
        if flight.deadline <= deadline { return try await flight.task.value }
        return try await Self.wait(for: flight.task, until: deadline)
    }

    /// Waits for the shared task but no longer than this caller's (earlier) deadline.
    private static func wait(for task: Task<Value, any Error>, until deadline: ContinuousClock.Instant) async throws -> Value {
        try await withThrowingTaskGroup(of: Value?.self) { group in
            group.addTask { try await task.value }
            group.addTask {
                try await Task.sleep(until: deadline, clock: .continuous)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw SingleFlightWaitTimedOut() }
            return value
        }
    }
}

/// Lets a caller learn whether it joined an existing flight (metrics label "shared").
final class JoinFlag: Sendable {
    private let value = Mutex(false)
    func set(_ joined: Bool) { value.withLock { $0 = joined } }
    var joined: Bool { value.withLock { $0 } }
}

/// A caller's own deadline passed while it waited for a flight another caller started.
struct SingleFlightWaitTimedOut: Error {}
