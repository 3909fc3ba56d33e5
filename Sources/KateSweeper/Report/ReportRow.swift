/// One line of the report: the table and `--output json` carry the same fields (JSON with full digests).
public struct ReportRow: Sendable, Codable, Equatable {
    public var namespace: String
    public var pod: String
    public var container: String
    public var tag: String
    public var pinned: String?
    public var running: String?
    /// What the tag means now (index digest), or nil when the registry did not answer.
    public var registry: String?
    public var verdict: Verdict
    public var action: String
    /// Why the verdict (for stale and unknown rows).
    public var reason: String?

    public static func rows(of report: SweepReport) -> [ReportRow] {
        report.findings.map { ReportRow($0, in: report) }
    }

    public init(
        namespace: String, pod: String, container: String, tag: String, pinned: String?, running: String?, registry: String?, verdict: Verdict,
        action: String, reason: String?
    ) {
        self.namespace = namespace
        self.pod = pod
        self.container = container
        self.tag = tag
        self.pinned = pinned
        self.running = running
        self.registry = registry
        self.verdict = verdict
        self.action = action
        self.reason = reason
    }

    /// The row of one finding; the ACTION column from the report's outcomes.
    public init(_ finding: Finding, in report: SweepReport) {
        let target = finding.target
        let pod = PodKey(namespace: target.pod.namespace, name: target.pod.name)
        self.init(
            namespace: pod.namespace, pod: pod.name, container: target.container,
            tag: target.tracking.image?.display ?? "-", pinned: target.pinnedDigest, running: target.running.digest,
            registry: finding.judgement.currentDigest, verdict: finding.judgement.verdict,
            action: finding.judgement.verdict.isStale ? report.actionText(for: pod) : "-",
            reason: finding.judgement.reason)
    }
}
