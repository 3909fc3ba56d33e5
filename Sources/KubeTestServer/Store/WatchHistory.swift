import KateNet
import Synchronization

/// One committed change as a watch sees it.
struct WatchRecord: Sendable {
    enum Kind: String, Sendable {
        case added = "ADDED", modified = "MODIFIED", deleted = "DELETED"
    }

    let kind: Kind
    let type: ResourceType
    let resourceVersion: Int
    /// The object after the change; for a deletion its last state, carrying the deletion's resourceVersion.
    let object: StoredObject
    /// Before a modification: a watch with a selector sees an object leave it as DELETED and enter it as ADDED.
    let previous: StoredObject?
}

/// The watch cache: a bounded history of changes in resourceVersion order, and the watchers waiting
/// for the next one. A watch from a resourceVersion older than the history reaches answers 410, as
/// kube-apiserver's watch cache does (its window is bounded too; the events before it are gone).
///
/// `ObjectStore` records every write while it holds its own lock, so the history's order is the
/// store's commit order and a list's resourceVersion splits it exactly into "in the list" and "after".
final class WatchHistory: Sendable {
    private struct State {
        /// Kept changes are `records[head...]`; dropping one only moves `head` (a store bulk-loading
        /// 100,000 objects must not shift the whole window on every write), compacted now and then.
        var records: [WatchRecord] = []
        var head = 0
        /// The newest change no longer kept: a watch from before it has missed changes (410).
        var lastDropped = 0
        var limit = 1000
        /// The newest resourceVersion, changes and compactions alike (what a bookmark may carry).
        var latest = 0
        var latestChange = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
        /// Bumped by `dropWatches()`: watches begun under an older generation end abruptly.
        var dropGeneration = 0
        var closed = false
        var bookmarkInterval: Duration = .seconds(60)

        mutating func trim() {
            let excess = records.count - head - limit
            guard excess > 0 else { return }
            let newest = records[head + excess - 1].resourceVersion
            drop(while: { $0.resourceVersion <= newest })
        }

        /// Drops kept changes from the oldest on while `condition` holds for the oldest one.
        mutating func drop(while condition: (WatchRecord) -> Bool) {
            while head < records.count, condition(records[head]) {
                lastDropped = max(lastDropped, records[head].resourceVersion)
                head += 1
            }
            if head > 1024, head * 2 > records.count {
                records.removeFirst(head)
                head = 0
            }
        }

        mutating func takeWaiters() -> [CheckedContinuation<Void, Never>] {
            defer { waiters.removeAll() }
            return Array(waiters.values)
        }
    }

    private let state = Mutex(State())

    enum Window: Error { case tooOld(oldest: Int) }

    /// Called by the store, under its lock, once per committed change.
    func record(_ record: WatchRecord) {
        let waiters = state.withLock { state in
            state.records.append(record)
            state.latest = max(state.latest, record.resourceVersion)
            state.latestChange = record.resourceVersion
            state.trim()
            return state.takeWaiters()
        }
        for waiter in waiters { waiter.resume() }
    }

    /// The changes after `resourceVersion` with the newest resourceVersion they bring a watcher up
    /// to, or `.tooOld` when some of them are no longer kept.
    func changes(after resourceVersion: Int) throws(Window) -> (records: [WatchRecord], upTo: Int) {
        try state.withLock { (state: inout State) throws(Window) -> (records: [WatchRecord], upTo: Int) in
            guard resourceVersion >= state.lastDropped else { throw .tooOld(oldest: state.lastDropped) }
            // Records are in resourceVersion order: binary search for the first one after.
            var low = state.head, high = state.records.count
            while low < high {
                let mid = (low + high) / 2
                if state.records[mid].resourceVersion <= resourceVersion { low = mid + 1 } else { high = mid }
            }
            return (Array(state.records[low...]), max(state.latest, resourceVersion))
        }
    }

    /// Suspends until a change after `resourceVersion` is recorded, `deadline` passes, the history
    /// closes or the task is cancelled (whichever is first; the caller looks at the history again).
    func waitForChange(after resourceVersion: Int, generation: Int, until deadline: ContinuousClock.Instant) async {
        _ = await withDeadline(deadline) { [self] in await waitForChange(after: resourceVersion, generation: generation) }
    }

    private func waitForChange(after resourceVersion: Int, generation: Int) async {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state in
                    if state.closed || state.latestChange > resourceVersion || state.dropGeneration != generation || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    // MARK: - Controls (through KubeTestServer)

    /// Keep at most `limit` changes: watches from before them answer 410 Expired.
    func setLimit(_ limit: Int) {
        state.withLock { state in
            state.limit = max(1, limit)
            state.trim()
        }
    }

    /// An etcd compaction at `resourceVersion`: every change up to it is gone, so a watch from
    /// before the newest of them answers 410; one already past them (every open watch) goes on.
    func compact(at resourceVersion: Int) {
        state.withLock { state in
            state.drop(while: { $0.resourceVersion <= resourceVersion })
            state.latest = max(state.latest, resourceVersion)
        }
    }

    var bookmarkInterval: Duration {
        get { state.withLock { $0.bookmarkInterval } }
        set { state.withLock { $0.bookmarkInterval = newValue } }
    }

    var dropGeneration: Int { state.withLock { $0.dropGeneration } }

    /// Cuts every open watch without its final chunk (a load balancer or apiserver restart).
    func dropWatches() {
        let waiters = state.withLock { state in
            state.dropGeneration += 1
            return state.takeWaiters()
        }
        for waiter in waiters { waiter.resume() }
    }

    var isClosed: Bool { state.withLock { $0.closed } }

    /// The server is stopping: every watch ends now (cleanly), none starts.
    func close() {
        let waiters = state.withLock { state in
            state.closed = true
            return state.takeWaiters()
        }
        for waiter in waiters { waiter.resume() }
    }
}
