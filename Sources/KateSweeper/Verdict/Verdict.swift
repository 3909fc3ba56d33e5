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
    /// Stale, and kate's rollout restart of its owner was reverted by another field manager (named from
    /// `managedFields`): its pods are evicted one at a time instead.
    case restartReverted = "restart-reverted"

    /// Whether a restart would bring the container to the tag's current digest.
    public var isStale: Bool {
        switch self {
        case .tagMoved, .nodeMismatch, .split, .restartReverted: true
        case .current, .unknown: false
        }
    }

    /// Severity order for a pod's overall verdict: the worst of its containers.
    private var rank: Int {
        switch self {
        case .current: 0
        case .unknown: 1
        case .tagMoved: 2
        case .split: 3
        case .nodeMismatch: 4
        case .restartReverted: 5
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

    public init(verdict: Verdict, reason: String? = nil, currentDigest: String? = nil) {
        self.verdict = verdict
        self.reason = reason
        self.currentDigest = currentDigest
    }
}
