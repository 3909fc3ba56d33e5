import Foundation
import KateContract
import KateKube

/// kate's note on a workload it restarted (`KateAnnotations.restart`), written in the restart's own
/// patch: `2026-12-03T01:02:03Z generation=4`, the marker value it set and the workload's
/// generation just before. The next sweep (and `--wait` in the same one) reads it back to tell a
/// restart that is rolling from one that finished from one another field manager reverted.
public struct RestartRecord: Sendable, Hashable {
    /// The pod-template annotation `kubectl rollout restart` sets.
    public static let restartedAt = "kubectl.kubernetes.io/restartedAt"
    /// Where the record lives on the workload.
    public static let annotation = KateAnnotations.restart

    /// The marker value kate wrote (the template's `restartedAt`, a Rollout's `spec.restartAt`).
    public var restartedAt: String
    /// `metadata.generation` before the restart (nil: unknown); the restart makes it at least one more.
    public var generation: Int64?

    public init(restartedAt: String, generation: Int64?) {
        self.restartedAt = restartedAt
        self.generation = generation
    }

    public init?(_ text: String) {
        let parts = text.split(separator: " ")
        guard let first = parts.first, !first.isEmpty else { return nil }
        restartedAt = String(first)
        generation = parts.dropFirst().first { $0.hasPrefix("generation=") }.flatMap { Int64($0.dropFirst("generation=".count)) }
    }

    public var text: String { generation.map { "\(restartedAt) generation=\($0)" } ?? restartedAt }

    /// The record on `state`, if kate restarted it.
    public static func on(_ state: WorkloadState) -> RestartRecord? {
        state.annotations[annotation].flatMap(RestartRecord.init)
    }
}

/// Another field manager took kate's restart back: who, as far as `managedFields` can tell.
public struct RestartReversion: Sendable, Hashable {
    public var record: RestartRecord
    /// The marker's value now (nil: removed).
    public var found: String?
    /// The manager named as the reverter (nil: none could be named).
    public var manager: String?
    /// "field manager gardener (Update at 2026-12-03T01:02:05Z)"
    public var byWhom: String

    /// "restartedAt 2026-12-03T01:02:03Z that kate wrote was removed by field manager gardener (Update at …)"
    public var description: String {
        let what = found.map { "was replaced by \($0)" } ?? "was removed"
        return "restartedAt \(record.restartedAt) that kate wrote \(what) by \(byWhom)"
    }
}

/// What became of kate's last restart of a workload.
public enum RestartCheck: Sendable, Equatable {
    /// No record: kate has not restarted it (or the record was removed with everything else), or a
    /// later restart by someone else superseded kate's.
    case noRecord
    /// The marker is kate's, and the controller has not finished rolling it out.
    case rolling(String)
    /// The marker is kate's and the controller observed it and updated the pods.
    case progressed
    case reverted(RestartReversion)

    public static func check(_ state: WorkloadState) -> RestartCheck {
        guard let record = RestartRecord.on(state) else { return .noRecord }
        // A later restart by someone else (`kubectl rollout restart` by hand) supersedes kate's: not a revert.
        if let marker = state.restartMarker, marker != record.restartedAt, let later = RFC3339.parse(marker),
           let written = RFC3339.parse(record.restartedAt), later > written {
            return .noRecord
        }
        guard state.restartMarker == record.restartedAt else {
            return .reverted(RestartReversion(
                record: record, found: state.restartMarker, manager: reverter(of: state, record: record)?.manager,
                byWhom: describeReverter(of: state, record: record)))
        }
        if let generation = state.generation, let before = record.generation, generation <= before {
            return .rolling("generation \(generation) not past \(before) yet")
        }
        if let observed = state.observedGeneration, let before = record.generation, observed <= before {
            return .rolling("controller has not observed the restart yet (observed generation \(observed))")
        }
        if let progress = state.rolloutInProgress { return .rolling(progress) }
        return .progressed
    }

    /// A marker with another value names its writer exactly. A removal leaves no entry of its own
    /// (the apiserver drops a manager that owns nothing), so the best guess is then the manager
    /// that owns the pod template and wrote last, preferring one that wrote after the restart.
    static func reverter(of state: WorkloadState, record: RestartRecord) -> FieldManager? {
        let others = state.fieldManagers.filter { !$0.ownsRecord }
        if state.restartMarker != nil, let owner = others.first(where: \.ownsMarker) { return owner }
        let candidates = others.filter(\.ownsTemplate).sorted { ($0.time ?? "") > ($1.time ?? "") }
        return candidates.first { ($0.time ?? "") >= record.restartedAt } ?? candidates.first
    }

    static func describeReverter(of state: WorkloadState, record: RestartRecord) -> String {
        guard let manager = reverter(of: state, record: record) else {
            return "a field manager that left no managedFields entry"
        }
        let at = manager.time.map { " at \($0)" } ?? ""
        if state.restartMarker != nil || (manager.time ?? "") >= record.restartedAt {
            return "field manager \(manager.manager) (\(manager.operation)\(at))"
        }
        return "field manager \(manager.manager) most likely (\(manager.operation)\(at); it owns the pod template, and a removal leaves no managedFields entry)"
    }
}
