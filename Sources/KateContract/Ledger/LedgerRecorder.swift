import Foundation
import Logging
import Synchronization

/// The webhook's writes to the ledger, off the admission path: a review that resolved a tag to a
/// digest the replica's copy does not know yet notes it here and answers at once; `run()` records
/// the digest (its `firstSeen`, which the cooldown counts from) in the background. The caller passes
/// the history it read from its copy anyway, so a digest the copy already has costs no second
/// lookup and no write: a steady cluster writes nothing.
///
/// Bounded: at most `capacity` notes wait; more are dropped (and counted) rather than queued
/// without limit, and the next review of the same tag notes it again.
public final class LedgerRecorder: Sendable {
    public struct Note: Sendable, Hashable {
        public var reference: String
        public var digest: String
    }

    private let ledger: DigestLedger
    private let logger: Logger
    private let capacity: Int
    private let stream: AsyncStream<Note>
    private let feed: AsyncStream<Note>.Continuation
    /// Notes queued or being written: a burst of reviews of one new digest queues it once.
    private let pending = Mutex<Set<Note>>([])

    public init(ledger: DigestLedger, capacity: Int = 1024, logger: Logger) {
        self.ledger = ledger
        self.capacity = max(1, capacity)
        self.logger = logger
        (stream, feed) = AsyncStream.makeStream(of: Note.self, bufferingPolicy: .unbounded)
    }

    /// Queues a record of `digest` for `reference` unless `known`, the tag's history in the caller's
    /// ledger copy, has it already. Never waits.
    public func note(reference: String, digest: String, known: ImageTagHistory.Spec?) {
        if known?.record(of: digest) != nil { return }
        let note = Note(reference: reference, digest: digest)
        let queued = pending.withLock { pending -> Bool in
            guard pending.count < capacity, !pending.contains(note) else { return false }
            pending.insert(note)
            return true
        }
        if queued { feed.yield(note) }
    }

    /// Notes waiting or being written (for tests and the shutdown log).
    public var backlog: Int { pending.withLock { $0.count } }

    /// Writes queued notes one at a time until the calling task is cancelled. A failed write is
    /// logged and dropped: the next review of the tag notes it again.
    public func run() async {
        // Cancellation ends the iteration (AsyncStream's next() returns nil), queued notes included.
        for await note in stream {
            do {
                try await ledger.record(reference: note.reference, digest: note.digest)
            } catch is CancellationError {
                _ = pending.withLock { $0.remove(note) }
                break
            } catch {
                logger.warning("ledger: could not record \(note.reference) = \(note.digest): \(error)")
            }
            _ = pending.withLock { $0.remove(note) }
        }
    }
}
