/// The sweeper's opinion of one container.
public enum Verdict: String, Sendable, Codable, CaseIterable, Comparable {
    case current
    /// The pinned or running digest is not what the tag means now.
    case tagMoved = "tag-moved"
    /// The pod pins the current digest but the node runs something else.
    case nodeMismatch = "node-mismatch"
    /// Pods of one owner revision run different digests of one tag (pinned at different times).
    case split
    /// Not enough information; never acted on.
    case unknown
    /// The registry answers 404 for the digest the pod pins (or, unpinned, runs): a reschedule onto a
    /// node without the image fails with ImagePullBackOff. Acted on like `tag-moved` where the tag
    /// still resolves (the restart pins the fresh digest); reported only where it does not.
    case dangling
    /// The tag moved to an index that lacks a platform the cluster's nodes (or the workload's
    /// nodeSelector/affinity) use: not rolled, checked again next sweep.
    case platformGap = "platform-gap"
    /// Stale, and kate's rollout restart of its owner was reverted by another field manager (named from
    /// `managedFields`): its pods are evicted one at a time instead.
    case restartReverted = "restart-reverted"
    /// Stale, but the digest a roll would bring has not been known for the cooldown (`--cooldown`,
    /// the namespace label `kate.dev/cooldown`; first seen per the ledger): not rolled, adopted by a
    /// later sweep once mature.
    case coolingDown = "cooling-down"

    /// Whether a restart would bring the container to the tag's current digest.
    public var isStale: Bool {
        switch self {
        case .tagMoved, .nodeMismatch, .split, .dangling, .restartReverted: true
        case .current, .unknown, .platformGap, .coolingDown: false
        }
    }

    /// Severity order for a pod's overall verdict: the worst of its containers.
    private var rank: Int {
        switch self {
        case .current: 0
        case .unknown: 1
        case .coolingDown: 2
        case .platformGap: 3
        case .tagMoved: 4
        case .split: 5
        case .nodeMismatch: 6
        case .restartReverted: 7
        case .dangling: 8
        }
    }

    public static func < (lhs: Verdict, rhs: Verdict) -> Bool { lhs.rank < rhs.rank }
}

/// A verdict with the evidence behind it.
public struct Judgement: Sendable, Equatable {
    public var verdict: Verdict
    /// Why, in words, for unknown and stale verdicts.
    public var reason: String?
    /// The digest the tag means now (index digest), when the registry answered.
    public var currentDigest: String?

    /// The pinned (or running) digest the registry no longer has, whatever the final verdict
    /// (a platform gap can hold a dangling pin's roll): for the Event and `kate_dangling_digests`.
    public var danglingDigest: String?

    public init(verdict: Verdict, reason: String? = nil, currentDigest: String? = nil, danglingDigest: String? = nil) {
        self.verdict = verdict
        self.reason = reason
        self.currentDigest = currentDigest
        self.danglingDigest = danglingDigest
    }
}
