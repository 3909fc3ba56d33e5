import KateKube
import KateRegistry
import Logging
import Synchronization

/// `kate webhook --push-sweep`: campaigns for the `kate-push-sweeper` Lease and, while leading,
/// sweeps each pushed tag (PushSweeper). Tags are queued only while this replica leads: the others'
/// pushes reach the leader through the ledger (or, without --ledger, only the replica that got the
/// push sweeps, when it leads). A push that arrives while nobody leads (a leader crashed and its
/// Lease has not expired yet) is left to the scheduled sweep; it is never swept twice.
///
/// Lives in KateSweeper rather than the `kate` executable so that tests can run two of them, as
/// two webhook replicas do, against one API server.
public final class PushSweepRunner: Sendable {
    public static let lease = "kate-push-sweeper"
    public let elector: LeaderElector
    public let sweeper: PushSweeper
    public let logger: Logger
    /// How long to wait before campaigning again after leadership ended with an error.
    public let campaignPause: Duration
    private let triggers = Mutex<PushSweepTriggers?>(nil)

    public init(elector: LeaderElector, sweeper: PushSweeper, logger: Logger, campaignPause: Duration = .seconds(2)) {
        self.elector = elector
        self.sweeper = sweeper
        self.logger = logger
        self.campaignPause = campaignPause
    }

    /// Whether this replica leads now (holds the Lease and takes pushes).
    public var isLeading: Bool { triggers.withLock { $0 != nil } }

    /// Queues `reference` when this replica leads; otherwise the leader has it from the ledger.
    public func trigger(_ reference: ImageReference) {
        triggers.withLock { $0 }?.push(reference)
    }

    /// Campaigns, leads, and campaigns again after a lost Lease, until cancelled.
    public func run() async {
        while !Task.isCancelled {
            do {
                try await elector.run { [self] in
                    let queue = PushSweepTriggers()
                    triggers.withLock { $0 = queue }
                    defer { triggers.withLock { $0 = nil } }
                    await sweeper.run(queue)
                }
            } catch is CancellationError {
                return
            } catch {
                logger.warning("push sweeper: \(error); campaigning again")
            }
            triggers.withLock { $0 = nil }
            try? await Task.sleep(for: campaignPause)
        }
    }
}
