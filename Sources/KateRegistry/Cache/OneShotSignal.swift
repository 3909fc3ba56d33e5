import KateNet
import Synchronization

/// Fires once; waiters return when it fires, at their own deadline, or when cancelled —
/// whichever comes first. Waiting never throws: a waiter that gives up just carries on without
/// what the signal would have told it.
final class OneShotSignal: Sendable {
    private struct State {
        var fired = false
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        /// Waiters that gave up before their continuation was registered.
        var abandoned: Set<UInt64> = []
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    var hasFired: Bool { state.withLock { $0.fired } }

    func fire() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.fired = true
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait(until deadline: ContinuousClock.Instant) async {
        let id = state.withLock { s -> UInt64? in
            if s.fired { return nil }
            s.nextID += 1
            return s.nextID
        }
        guard let id else { return }
        let timer = Task { [weak self] in
            try await sleepCancellably(until: deadline)
            self?.release(id)
        }
        defer { timer.cancel() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let immediate = state.withLock { s -> Bool in
                    if s.fired || s.abandoned.remove(id) != nil { return true }
                    s.waiters[id] = continuation
                    return false
                }
                if immediate { continuation.resume() }
            }
        } onCancel: {
            release(id)
        }
    }

    private func release(_ id: UInt64) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if let waiter = s.waiters.removeValue(forKey: id) { return waiter }
            if !s.fired { s.abandoned.insert(id) }
            return nil
        }
        waiter?.resume()
    }
}
