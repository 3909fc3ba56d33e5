/// Sleeps until `deadline`, or throws `CancellationError` as soon as the calling task is cancelled.
///
/// Use this instead of `Task.sleep` for deadline timers that are usually cancelled before they
/// fire (a review's deadline once its lookups finished, a wait that got its answer): on Linux a
/// cancelled `Task.sleep` keeps its timer allocated until the original deadline
/// (swiftlang/swift#60441), which at thousands of requests per second is memory that only looks
/// like a leak (RELIABILITY.md bug 8). This parks in the reactor's deadline heap, and cancelling
/// removes the entry at once. Resolution: milliseconds, never early.
public func sleepCancellably(until deadline: ContinuousClock.Instant) async throws {
    let reactor: Reactor
    do {
        reactor = try Reactor.shared()
    } catch {
        // No reactor means no sockets either; keep the deadline semantics all the same.
        try await Task.sleep(until: deadline, clock: .continuous)
        return
    }
    try await reactor.sleep(until: deadline)
}
