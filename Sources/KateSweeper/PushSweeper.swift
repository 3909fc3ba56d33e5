import Foundation
import KateRegistry
import Logging
import Synchronization

/// Targeted sweeps after registry pushes: for each pushed tag, the ordinary `Sweeper` over a
/// `TagScopedCluster`, so only the owners of pods running that tag are judged and rolled, with
/// every guard of a full sweep. One sweep at a time; a tag pushed again while queued is swept once.
/// Run `run(_:)` on the leader only (the webhook runs it under the `kate-push-sweeper` Lease).
public struct PushSweeper: Sendable {
    /// The sweep a push narrows: its cluster, resolver, configuration, logger and metrics are used as they are.
    public let sweeper: Sweeper

    public init(_ sweeper: Sweeper) { self.sweeper = sweeper }

    /// One targeted sweep of the owners whose pods use `reference`'s tag.
    public func sweep(_ reference: ImageReference, now: Date = Date()) async throws -> SweepReport {
        let scoped = TagScopedCluster(base: sweeper.cluster, reference: reference)
        return try await Sweeper(
            cluster: scoped, resolver: sweeper.resolver, configuration: sweeper.configuration, logger: sweeper.logger, metrics: sweeper.metrics
        ).run(now: now)
    }

    /// Sweeps each tag `triggers` yields, in order, until the stream ends or the task is cancelled;
    /// a failed sweep is logged and the next one runs.
    public func run(_ triggers: PushSweepTriggers) async {
        while let reference = await triggers.next() {
            do {
                let report = try await sweep(reference)
                sweeper.logger.info("push sweep of \(reference): \(report.results.count) action(s)")
            } catch is CancellationError {
                return
            } catch {
                sweeper.logger.warning("push sweep of \(reference) failed: \(error); the next push or sweep retries")
            }
        }
    }
}

/// The queue of tags to sweep: `push` never blocks (a registry notification must not wait for a
/// rollout), a tag already queued is not queued twice, and the queue is bounded (the oldest is
/// dropped: the scheduled sweep still covers it).
public final class PushSweepTriggers: Sendable {
    private struct State {
        var queue: [ImageReference] = []
        var waiter: CheckedContinuation<ImageReference?, Never>?
        var finished = false
    }
    private let state = Mutex(State())
    public let capacity: Int

    public init(capacity: Int = 256) { self.capacity = max(1, capacity) }

    public func push(_ reference: ImageReference) {
        let waiter: CheckedContinuation<ImageReference?, Never>? = state.withLock { state in
            guard !state.finished else { return nil }
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            if !state.queue.contains(where: { $0.description == reference.description }) {
                if state.queue.count >= capacity { state.queue.removeFirst() }
                state.queue.append(reference)
            }
            return nil
        }
        waiter?.resume(returning: reference)
    }

    /// Ends the stream: `next()` returns nil once the queue is drained.
    public func finish() {
        let waiter = state.withLock { state in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    public var pending: Int { state.withLock { $0.queue.count } }

    /// The next tag, waiting for one; nil when finished or the calling task is cancelled.
    func next() async -> ImageReference? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<ImageReference?, Never>) in
                let ready: ImageReference?? = state.withLock { state in
                    if !state.queue.isEmpty { return .some(state.queue.removeFirst()) }
                    if state.finished || Task.isCancelled { return .some(nil) }
                    state.waiter = continuation
                    return .none
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: nil)
        }
    }
}
