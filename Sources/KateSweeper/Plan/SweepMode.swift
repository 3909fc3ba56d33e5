/// What a sweep may do about stale pods (`--action`).
public enum SweepAction: String, Sendable, Codable, CaseIterable {
    /// Rollout restart of the owning workload; eviction where a restart replaces nothing.
    case rollout
    /// Only report.
    case report
    /// The old tool's behaviour: delete each stale pod (UID precondition). Opt-in only.
    case delete
}

/// Limits on what one sweep writes.
public struct ActionPolicy: Sendable, Equatable {
    public var action: SweepAction
    /// Plan and report everything, write nothing.
    public var dryRun: Bool
    /// At most this many writes (restarts, evictions, deletions) per sweep; nil = unlimited.
    public var maxActions: Int?

    public init(action: SweepAction = .rollout, dryRun: Bool = false, maxActions: Int? = nil) {
        self.action = action
        self.dryRun = dryRun
        self.maxActions = maxActions
    }

    /// Whether this sweep makes any write call at all.
    public var writes: Bool { action != .report && !dryRun }
}
