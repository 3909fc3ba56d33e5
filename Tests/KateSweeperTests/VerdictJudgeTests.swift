import Testing
@testable import KateSweeper

@Suite("verdicts")
struct VerdictJudgeTests {
    static let old = Fixtures.digest("0")
    static let new = Fixtures.digest("1")
    static let arm = Fixtures.digest("2")
    static let image = TrackedImage(display: "nginx:1.27", canonicalName: "docker.io/library/nginx", tag: "1.27")

    static func target(pinned: String? = nil, running: RunningImage, runningRepository: String? = "docker.io/library/nginx", tracking: Tracking = .tag(image)) -> ContainerTarget {
        ContainerTarget(
            pod: PodIdentity(namespace: "default", name: "web-1", uid: "u1"), container: "app", tracking: tracking,
            pinnedDigest: pinned, running: running, runningRepository: runningRepository)
    }

    static let resolved = TagState.resolved(indexDigest: new, platformDigests: [])

    @Test func runningCurrentDigestIsCurrent() {
        #expect(VerdictJudge.judge(Self.target(running: .digest(repository: "nginx", digest: Self.new)), tag: Self.resolved).verdict == .current)
    }

    @Test func runningOldDigestIsTagMoved() {
        let j = VerdictJudge.judge(Self.target(running: .digest(repository: "nginx", digest: Self.old)), tag: Self.resolved)
        #expect(j.verdict == .tagMoved)
        #expect(j.currentDigest == Self.new)
    }

    @Test func pinnedOldIsTagMovedWhateverTheNodeRuns() {
        let j = VerdictJudge.judge(Self.target(pinned: Self.old, running: .digest(repository: "nginx", digest: Self.old)), tag: Self.resolved)
        #expect(j.verdict == .tagMoved)
    }

    @Test func pinnedCurrentButNodeRunsOtherIsNodeMismatch() {
        let j = VerdictJudge.judge(Self.target(pinned: Self.new, running: .digest(repository: "nginx", digest: Self.old)), tag: Self.resolved)
        #expect(j.verdict == .nodeMismatch)
    }

    @Test func platformDigestOfCurrentIndexIsCurrent() {
        let tag = TagState.resolved(indexDigest: Self.new, platformDigests: [Self.arm])
        #expect(VerdictJudge.judge(Self.target(pinned: Self.new, running: .digest(repository: "nginx", digest: Self.arm)), tag: tag).verdict == .current)
    }

    @Test func registryErrorIsUnknown() {
        let j = VerdictJudge.judge(Self.target(running: .digest(repository: "nginx", digest: Self.old)), tag: .failed("registry: 500"))
        #expect(j.verdict == .unknown)
        #expect(j.reason == "registry: 500")
    }

    @Test func configIDIsUnknown() {
        let j = VerdictJudge.judge(Self.target(running: ImageID.parse(Self.old)), tag: Self.resolved)
        #expect(j.verdict == .unknown)
    }

    @Test func digestOnlyImageIsUnknown() {
        let t = Self.target(running: .digest(repository: "nginx", digest: Self.old), tracking: .untrackable(reason: "no tag to track"))
        #expect(VerdictJudge.judge(t, tag: nil).verdict == .unknown)
    }

    @Test func otherRepositoryWithOtherDigestIsNotComparable() {
        let t = Self.target(running: .digest(repository: "mirror.local/nginx", digest: Self.old), runningRepository: "mirror.local/nginx")
        #expect(VerdictJudge.judge(t, tag: Self.resolved).verdict == .unknown)
    }

    @Test func mirrorServingTheCurrentDigestIsCurrent() {
        let t = Self.target(running: .digest(repository: "mirror.local/nginx", digest: Self.new), runningRepository: "mirror.local/nginx")
        #expect(VerdictJudge.judge(t, tag: Self.resolved).verdict == .current)
    }

    @Test func staleOrdering() {
        #expect(Verdict.allCases.filter(\.isStale) == [.tagMoved, .nodeMismatch, .split, .dangling, .restartReverted])
        #expect(max(Verdict.current, .unknown, .tagMoved) == .tagMoved)
        // A dangling pin is the worst a pod can have; a platform gap is held, below any stale verdict.
        #expect(max(Verdict.nodeMismatch, .dangling, .tagMoved) == .dangling)
        #expect(max(Verdict.platformGap, .tagMoved) == .tagMoved)
        #expect(Verdict.platformGap.rawValue == "platform-gap" && !Verdict.platformGap.isStale)
    }
}
