/// Finds pods of one owner revision that run different digests of the same tag. The webhook pins
/// at pod creation, so a ReplicaSet scaled up after the tag moved holds pods pinned to two digests;
/// each pod alone looks merely "tag-moved", the group shows the split.
public enum SplitDetector {
    private struct GroupKey: Hashable {
        let namespace: String
        let owner: String
        let revision: String
        let container: String
        let tag: String
    }

    /// Re-labels stale (`tag-moved`) members of a split group as `split`; other verdicts stay.
    public static func markSplits(_ findings: inout [Finding]) {
        var groups: [GroupKey: [Int]] = [:]
        for (index, finding) in findings.enumerated() {
            guard let key = groupKey(finding.target) else { continue }
            groups[key, default: []].append(index)
        }
        for (key, members) in groups where members.count > 1 {
            let digests = Set(members.compactMap { findings[$0].target.running.digest })
            guard digests.count > 1 else { continue }
            for index in members where findings[index].judgement.verdict == .tagMoved {
                findings[index].judgement.verdict = .split
                findings[index].judgement.reason =
                    "pods of revision \(key.revision) run \(digests.count) digests of \(findings[index].target.tracking.image?.display ?? key.tag)"
            }
        }
    }

    private static func groupKey(_ target: ContainerTarget) -> GroupKey? {
        guard let owner = target.pod.controller?.uid, let revision = target.pod.revision,
            let tag = target.tracking.image?.canonicalTag
        else { return nil }
        return GroupKey(namespace: target.pod.namespace, owner: owner, revision: revision, container: target.container, tag: tag)
    }
}

/// One container's facts and verdict: a row of the report.
public struct Finding: Sendable, Equatable {
    public var target: ContainerTarget
    public var judgement: Judgement

    public init(target: ContainerTarget, judgement: Judgement) {
        self.target = target
        self.judgement = judgement
    }
}
