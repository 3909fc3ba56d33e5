/// Races `operation` against `deadline`: its result, or nil when the deadline comes first. The
/// loser is cancelled and awaited (kate's sockets and `sleepCancellably` give up a cancelled
/// wait at once, so this returns promptly). The one "race a task against a deadline" of kate:
/// DNS lookups on their detached thread and admission's pull-secret lookups use it.
public func withDeadline<T: Sendable>(
    _ deadline: ContinuousClock.Instant, _ operation: @escaping @Sendable () async -> T
) async -> T? {
    await withTaskGroup(of: T?.self) { group in
        group.addTask { await operation() }
        group.addTask {
            try? await sleepCancellably(until: deadline)
            return nil
        }
        let first: T? = await group.next() ?? nil
        group.cancelAll()
        return first
    }
}

/// The throwing form: `operation`'s error is rethrown when it fails before the deadline.
public func withDeadline<T: Sendable>(
    _ deadline: ContinuousClock.Instant, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T? {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try? await sleepCancellably(until: deadline)
            return nil
        }
        defer { group.cancelAll() }
        let first: T? = try await group.next() ?? nil
        return first
    }
}
