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
        report.findings.map { finding in
            let target = finding.target
            let pod = PodKey(namespace: target.pod.namespace, name: target.pod.name)
            return ReportRow(
                namespace: pod.namespace, pod: pod.name, container: target.container,
                tag: target.tracking.image?.display ?? "-", pinned: target.pinnedDigest, running: target.running.digest,
                registry: finding.judgement.currentDigest, verdict: finding.judgement.verdict,
                action: finding.judgement.verdict.isStale ? report.actionText(for: pod) : "-",
                reason: finding.judgement.reason)
        }
    }
}
