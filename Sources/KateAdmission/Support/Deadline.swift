import KateNet
/// Runs work that must not outlive a deadline.
enum Deadline {
    /// The operation's result, or nil if `deadline` came first; the operation is then cancelled
    /// (kate's sockets give up a cancelled wait at once, so this returns promptly).
    static func run<T: Sendable>(until deadline: ContinuousClock.Instant, _ operation: @escaping @Sendable () async -> T) async -> T? {
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
}
