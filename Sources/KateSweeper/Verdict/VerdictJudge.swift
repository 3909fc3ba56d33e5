/// Turns one container's facts plus the registry's answer into a verdict. Pure, so every branch is
/// unit-tested; `split` is decided later across pods (see `SplitDetector`).
public enum VerdictJudge {
    public static func judge(_ target: ContainerTarget, tag: TagState?) -> Judgement {
        guard case .tag(let image) = target.tracking else {
            if case .untrackable(let reason) = target.tracking { return Judgement(verdict: .unknown, reason: reason) }
            return Judgement(verdict: .unknown, reason: "no tag to track")
        }
        guard let tag else {
            return Judgement(verdict: .unknown, reason: "\(image.display) was not resolved")
        }
        guard case .resolved(let index, _) = tag else {
            if case .failed(let message) = tag { return Judgement(verdict: .unknown, reason: message) }
            return Judgement(verdict: .unknown)
        }
        guard case .digest(_, let running) = target.running else {
            if case .unknown(let reason) = target.running {
                return Judgement(verdict: .unknown, reason: reason, currentDigest: index)
            }
            return Judgement(verdict: .unknown, currentDigest: index)
        }
        let current = tag.currentDigests
        if let repository = target.runningRepository, repository != image.canonicalName, !current.contains(running) {
            // Same digest from a mirror is still current (checked above), but a different digest under
            // another repository name tells us nothing about this tag.
            return Judgement(
                verdict: .unknown,
                reason: "imageID names \(repository), the spec \(image.canonicalName); digests not comparable",
                currentDigest: index)
        }
        if let pinned = target.pinnedDigest, !current.contains(pinned) {
            // The pod asked for an old digest: a restart re-pins (whatever the node runs).
            return Judgement(
                verdict: .tagMoved,
                reason: "\(image.display) moved from \(ImageDigest.short(pinned)) to \(ImageDigest.short(index))",
                currentDigest: index)
        }
        if current.contains(running) {
            return Judgement(verdict: .current, currentDigest: index)
        }
        if target.pinnedDigest != nil {
            return Judgement(
                verdict: .nodeMismatch,
                reason: "pinned \(ImageDigest.short(target.pinnedDigest)) but the node runs \(ImageDigest.short(running))",
                currentDigest: index)
        }
        return Judgement(
            verdict: .tagMoved,
            reason: "\(image.display) moved from \(ImageDigest.short(running)) to \(ImageDigest.short(index))",
            currentDigest: index)
    }
}
