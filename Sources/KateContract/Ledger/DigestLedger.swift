import Foundation
import KateKube
import Metrics

/// Writes kate's digest ledger: one ImageTagHistory per tag, read-modify-written with the
/// object's resourceVersion as the precondition. Two replicas recording the same tag at once both
/// succeed: the loser of the race gets 409, reads the winner's version and merges into it.
public struct DigestLedger: Sendable {
    public let client: KubeClient
    /// Where the ledger lives: kate's own namespace (a Role, not a ClusterRole, grants it).
    public let namespace: String
    /// Digests kept per tag, newest first; older ones are dropped.
    public var maxDigestsPerTag: Int
    /// A known digest's `lastSeen` is rewritten only once it is this old.
    public var lastSeenResolution: Duration
    /// Read-modify-write rounds before a persistent conflict is returned.
    public var maxAttempts: Int

    public init(client: KubeClient, namespace: String, maxDigestsPerTag: Int = 10, lastSeenResolution: Duration = .seconds(60), maxAttempts: Int = 5) {
        self.client = client
        self.namespace = namespace
        self.maxDigestsPerTag = maxDigestsPerTag
        self.lastSeenResolution = lastSeenResolution
        self.maxAttempts = maxAttempts
    }

    /// Records that `reference` resolved to `digest` at `date`.
    /// - Returns: the history as stored (unchanged when there was nothing worth writing).
    /// - Throws: `KubeError` (a 409 only after `maxAttempts` lost races).
    @discardableResult
    public func record(reference: String, digest: String, platforms: [String]? = nil, at date: Date = Date()) async throws -> ImageTagHistory {
        let (bound, resolution) = (maxDigestsPerTag, lastSeenResolution)
        return try await update(reference) { spec in
            spec.recording(digest: digest, platforms: platforms, at: date, keep: bound, resolution: resolution)
        }
    }

    /// Flags `digest` of `reference` (`ImageTagHistory.Flag.dangling`, `.bad`); a digest the ledger
    /// does not know is left alone.
    @discardableResult
    public func flag(reference: String, digest: String, _ flag: String) async throws -> ImageTagHistory {
        try await update(reference) { spec in spec.flagging(digest: digest, flag) }
    }

    /// The stored history of `reference`, nil when kate has never recorded it.
    public func history(of reference: String) async throws -> ImageTagHistory? {
        do {
            return try await client.getObject(ImageTagHistory.self, .imageTagHistories, namespace: namespace, name: ImageTagHistory.objectName(for: reference))
        } catch let error as KubeError where error.isNotFound {
            return nil
        }
    }

    /// Every history in the ledger (one paged list).
    public func histories() async throws -> [ImageTagHistory] {
        try await client.listObjects(ImageTagHistory.self, .imageTagHistories, namespace: namespace)
    }

    /// Deletes the histories of tags no longer in use (ledger GC; run it from one place: the
    /// sweeper, which sees every pod). Each delete is conditional on the version read, so a tag
    /// recorded meanwhile survives.
    /// - Returns: the references deleted.
    public func forget(_ histories: [ImageTagHistory], where unused: (ImageTagHistory.Spec) -> Bool) async throws -> [String] {
        var forgotten: [String] = []
        for history in histories where unused(history.spec) {
            do {
                try await client.deleteObject(
                    .imageTagHistories, namespace: namespace, name: history.metadata.name ?? "", resourceVersion: history.metadata.resourceVersion
                )
                forgotten.append(history.spec.reference)
                Counter(label: "kate_ledger_writes_total", dimensions: [("result", "forgotten")]).increment()
            } catch let error as KubeError where error.isConflict || error.isNotFound {
                continue
            }
        }
        return forgotten
    }

    /// The read-modify-write loop: `change` gets the current spec (a fresh one for a tag never
    /// seen) and returns the new one, or nil when nothing needs writing.
    private func update(
        _ reference: String, _ change: @Sendable (ImageTagHistory.Spec) -> ImageTagHistory.Spec?
    ) async throws -> ImageTagHistory {
        var attempt = 0
        while true {
            attempt += 1
            let current = try await history(of: reference)
            guard let next = change(current?.spec ?? ImageTagHistory.Spec(reference: reference)) else {
                return current ?? ImageTagHistory(namespace: namespace, spec: ImageTagHistory.Spec(reference: reference))
            }
            do {
                let written: ImageTagHistory
                if var existing = current {
                    existing.spec = next
                    written = try await client.replaceObject(existing, .imageTagHistories, namespace: namespace)
                } else {
                    written = try await client.createObject(ImageTagHistory(namespace: namespace, spec: next), .imageTagHistories, namespace: namespace)
                }
                Counter(label: "kate_ledger_writes_total", dimensions: [("result", "written")]).increment()
                return written
            } catch let error as KubeError where error.isConflict && attempt < maxAttempts {
                // Another replica wrote this tag since we read it (or created it first): merge into theirs.
                Counter(label: "kate_ledger_writes_total", dimensions: [("result", "conflict")]).increment()
            }
        }
    }
}
