import Foundation
import KateKube
import Synchronization

/// Every replica's copy of the digest ledger, kept current by a watch: a fact one replica records
/// reaches the others as the API server streams the change (no polling). While the API server is
/// unreachable the copy stays as it was, so lookups keep answering from it.
public final class DigestLedgerReader: Sendable {
    public let client: KubeClient
    public let namespace: String
    private let state = Mutex<(byReference: [String: ImageTagHistory.Spec], synced: Bool, resourceVersion: String)>(([:], false, ""))

    public init(client: KubeClient, namespace: String) {
        self.client = client
        self.namespace = namespace
    }

    /// Follows the ledger until the calling task is cancelled, or the watch gives up (its error is
    /// thrown; the copy is kept, and calling `run()` again resumes with a fresh list).
    public func run() async throws {
        for try await event in client.watch(ImageTagHistory.self, .imageTagHistories, namespace: namespace) {
            apply(event)
        }
    }

    func apply(_ event: WatchEvent<ImageTagHistory>) {
        state.withLock { state in
            switch event {
            case .listed(let histories, let version):
                state.byReference = Dictionary(histories.map { ($0.spec.reference, $0.spec) }, uniquingKeysWith: { _, last in last })
                state.synced = true
                state.resourceVersion = version
            case .added(let history), .modified(let history):
                state.byReference[history.spec.reference] = history.spec
                state.resourceVersion = history.metadata.resourceVersion ?? state.resourceVersion
            case .deleted(let history):
                state.byReference[history.spec.reference] = nil
                state.resourceVersion = history.metadata.resourceVersion ?? state.resourceVersion
            case .bookmark(let version):
                state.resourceVersion = version
            }
        }
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
