import Synchronization

/// The server's open connections and whether each is between requests.
///
/// Graceful shutdown needs to tell idle keep-alive connections (close them now) from ones with a
/// request in progress (let them finish). The idle/busy flag and the draining flag change under
/// one lock, so a connection cannot slip from idle into a new request after shutdown looked at it.
final class ConnectionRegistry: Sendable {
    private struct Entry {
        var stream: (any ByteStream)?
        var idle = false
    }

    private struct State {
        var nextID = 0
        var entries: [Int: Entry] = [:]
        var draining = false
    }

    private let state = Mutex(State())
    /// Called with the new count under the lock, so a gauge never records counts out of order.
    private let countChanged: @Sendable (Int) -> Void
    /// Fires once draining has begun and the last connection is gone (or the grace period ran out).
    let drained = OneShotEvent()

    init(countChanged: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.countChanged = countChanged
    }

    var count: Int { state.withLock { $0.entries.count } }
    var isDraining: Bool { state.withLock { $0.draining } }

    /// Adds a connection; returns its id.
    func register() -> Int {
        state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.entries[id] = Entry()
            countChanged(state.entries.count)
            return id
        }
    }

    /// Records the stream (after the TLS handshake) so shutdown can close it.
    func attach(_ id: Int, stream: any ByteStream) {
        state.withLock { $0.entries[id]?.stream = stream }
    }

    /// The connection waits for its next request. Returns false when the server is draining:
    /// the caller closes instead of waiting.
    func markIdle(_ id: Int) -> Bool {
        state.withLock { state in
            guard !state.draining else { return false }
            state.entries[id]?.idle = true
            return true
        }
    }

    /// A request started arriving.
    func markBusy(_ id: Int) {
        state.withLock { $0.entries[id]?.idle = false }
    }

    /// Removes a connection.
    func unregister(_ id: Int) {
        let empty = state.withLock { state in
            state.entries[id] = nil
            countChanged(state.entries.count)
            return state.draining && state.entries.isEmpty
        }
        if empty { drained.fire() }
    }

    /// Enters draining and returns the idle connections' streams for the caller to close.
    func beginDraining() -> [any ByteStream] {
        let (idle, empty) = state.withLock { state in
            state.draining = true
            return (state.entries.values.filter(\.idle).compactMap(\.stream), state.entries.isEmpty)
        }
        if empty { drained.fire() }
        return idle
    }

    /// Every attached stream (grace period over: close them all).
    func allStreams() -> [any ByteStream] {
        state.withLock { $0.entries.values.compactMap(\.stream) }
    }
}

/// A one-shot signal that any number of tasks can wait for.
final class OneShotEvent: Sendable {
    private let state = Mutex<(fired: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    var hasFired: Bool { state.withLock { $0.fired } }

    func fire() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard !state.fired else { return [] }
            state.fired = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state in
                if state.fired { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }
}
