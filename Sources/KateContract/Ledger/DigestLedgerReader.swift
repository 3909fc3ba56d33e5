import Foundation
import KateKube
import Synchronization

/// What a replica's copy of the ledger answers without a request (`DigestLedgerReader` conforms).
public protocol DigestHistoryReading: Sendable {
    func history(of reference: String) -> ImageTagHistory.Spec?
    /// False until the first list arrived: "unknown" then means "not loaded yet", not "new".
    var isSynced: Bool { get }
}

extension DigestLedgerReader: DigestHistoryReading {}

/// Every replica's copy of the digest ledger, kept current by a watch: a fact one replica records
/// reaches the others as the API server streams the change (no polling). While the API server is
/// unreachable the copy stays as it was, so lookups keep answering from it.
public final class DigestLedgerReader: Sendable {
    public let client: KubeClient
    public let namespace: String
    private let state = Mutex<(byReference: [String: ImageTagHistory.Spec], synced: Bool, resourceVersion: String)>(([:], false, ""))
    /// Told each tag whose newest digest changed (a record by any replica, a delete, a relist that
    /// differs), after the copy was updated: how a push seen by one replica invalidates the caches
    /// of all of them.
    private let onChange: (@Sendable (_ reference: String, _ newestDigest: String?) -> Void)?

    public init(client: KubeClient, namespace: String, onChange: (@Sendable (_ reference: String, _ newestDigest: String?) -> Void)? = nil) {
        self.client = client
        self.namespace = namespace
        self.onChange = onChange
    }

    /// Follows the ledger until the calling task is cancelled, or the watch gives up (its error is
    /// thrown; the copy is kept, and calling `run()` again resumes with a fresh list).
    public func run() async throws {
        for try await event in client.watch(ImageTagHistory.self, .imageTagHistories, namespace: namespace) {
            apply(event)
        }
    }

    func apply(_ event: WatchEvent<ImageTagHistory>) {
        let changed: [(String, String?)] = state.withLock { state in
            // Before the first list nothing was known, so nothing "changed"; the copy is compared per
            // touched tag, never copied whole (a copy-on-write dictionary copy per event would be O(tags)).
            let report = onChange != nil && state.synced
            var changed: [(String, String?)] = []
            func set(_ reference: String, _ spec: ImageTagHistory.Spec?) {
                let old = spec.map { state.byReference.updateValue($0, forKey: reference) } ?? state.byReference.removeValue(forKey: reference)
                let newest = spec?.digests.first?.digest
                if report, newest != old?.digests.first?.digest { changed.append((reference, newest)) }
            }
            switch event {
            case .listed(let histories, let version):
                let listed = Dictionary(histories.map { ($0.spec.reference, $0.spec) }, uniquingKeysWith: { _, last in last })
                for gone in state.byReference.keys where listed[gone] == nil { set(gone, nil) }
                for (reference, spec) in listed { set(reference, spec) }
                state.synced = true
                state.resourceVersion = version
            case .added(let history), .modified(let history):
                set(history.spec.reference, history.spec)
                state.resourceVersion = history.metadata.resourceVersion ?? state.resourceVersion
            case .deleted(let history):
                set(history.spec.reference, nil)
                state.resourceVersion = history.metadata.resourceVersion ?? state.resourceVersion
            case .bookmark(let version):
                state.resourceVersion = version
            }
            return changed
        }
        // Outside the lock: the callback may read this reader.
        for (reference, newest) in changed { onChange?(reference, newest) }
    }

    /// The history of `reference` as this replica knows it.
    public func history(of reference: String) -> ImageTagHistory.Spec? { state.withLock { $0.byReference[reference] } }

    /// When kate first saw `reference` mean `digest`, if the ledger knows.
    public func firstSeen(reference: String, digest: String) -> Date? {
        history(of: reference)?.digests.first { $0.digest == digest }?.firstSeenDate
    }

    /// True once the first list arrived (before that, "unknown" means "not loaded yet").
    public var isSynced: Bool { state.withLock { $0.synced } }
    public var count: Int { state.withLock { $0.byReference.count } }
}
