/// What a sweep may do about stale pods (`--action`).
public enum SweepAction: String, Sendable, Codable, CaseIterable {
    /// Rollout restart of the owning workload; eviction where a restart replaces nothing.
    case rollout
    /// Only report.
    case report
    /// The old tool's behaviour: delete each stale pod (UID precondition). Opt-in only.
    case delete
    /// Like `report`, and each planned action, hold and guard goes to `--notify-url` too. Never writes.
    case notify
}

/// Limits on what one sweep writes.
public struct ActionPolicy: Sendable, Equatable {
    public var action: SweepAction
    /// Plan and report everything, write nothing.
    public var dryRun: Bool
    /// At most this many writes (restarts, evictions, deletions) per sweep; nil = unlimited.
    public var maxActions: Int?
    /// Paced evictions (`--eviction-wait`): how long one eviction may take, both retrying a
    /// PodDisruptionBudget's 429 and waiting for the workload's ready pods to recover before the
    /// next of its pods is evicted (what `kubectl drain --timeout` bounds).
    public var evictionWait: Duration
    /// How often a paced eviction re-reads the workload's pods while it waits.
    public var evictionPollInterval: Duration
    /// How long after a 429 the eviction is tried again (`kubectl drain` waits 5 s).
    public var disruptionRetryInterval: Duration
    /// `--wait`: how long the sweep re-reads the workloads it restarted to verify each restart (nil:
    /// not at all; the next sweep verifies). Reverted restarts fall back to paced evictions at once.
    public var restartWait: Duration?

    public static let defaultEvictionWait = Duration.seconds(120)

    public init(
        action: SweepAction = .rollout, dryRun: Bool = false, maxActions: Int? = nil, evictionWait: Duration = defaultEvictionWait,
        evictionPollInterval: Duration = .seconds(2), disruptionRetryInterval: Duration = .seconds(5), restartWait: Duration? = nil
    ) {
        self.restartWait = restartWait
        self.action = action
        self.dryRun = dryRun
        self.maxActions = maxActions
        self.evictionWait = evictionWait
        self.evictionPollInterval = evictionPollInterval
        self.disruptionRetryInterval = disruptionRetryInterval
    }

    /// Whether this sweep makes any write call at all.
    public var writes: Bool { action != .report && action != .notify && !dryRun }
}
