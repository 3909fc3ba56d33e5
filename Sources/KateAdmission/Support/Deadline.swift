import KateNet
/// Runs work that must not outlive a deadline.
enum Deadline {
    /// The operation's result, or nil if `deadline` came first; the operation is then cancelled
    /// (KateNet's `withDeadline`, the one deadline race).
    static func run<T: Sendable>(until deadline: ContinuousClock.Instant, _ operation: @escaping @Sendable () async -> T) async -> T? {
        await withDeadline(deadline, operation)
    }
}
