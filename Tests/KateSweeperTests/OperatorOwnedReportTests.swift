import Foundation
import KateContract
import KateKube
import Logging
import MetricsTestKit
import Testing
@testable import KateSweeper

/// Pods the webhook leaves unpinned because an operator owns them are reported as skipped with the webhook's reason,
/// not judged stale and rolled: their operator decides their image.
@Suite("sweep report: operator-owned pods")
struct OperatorOwnedReportTests {
    /// A CloudNativePG instance pod as `kubectl get pod -o json` prints it (examples/pods).
    static func cnpgPod(annotations extra: [String: String] = [:]) throws -> Pod {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("examples/pods/cnpg-instance.json")
        var pod = try JSONDecoder().decode(Pod.self, from: try Data(contentsOf: url))
        pod.metadata.annotations = (pod.metadata.annotations ?? [:]).merging(extra) { _, new in new }
        return pod
    }

    static let resolver = TableResolver(["ghcr.io/cloudnative-pg/postgresql:16.4": .init(digest: Fixtures.digest("c"))])

    @Test("--action report lists an unpinned CloudNativePG pod as skipped: operator-owned, and writes nothing")
    func reportedAsSkipped() async throws {
        let cluster = InMemoryCluster(pods: [try Self.cnpgPod()] + (try SweeperPipelineTests.webPods(count: 1)), workloads: SweeperPipelineTests.workloads)
        let report = try await SweeperPipelineTests.sweeper(cluster, Self.resolver, policy: ActionPolicy(action: .report)).run()
        let table = ReportRenderer.table(report)
        #expect(table.contains("db/pg-main-2: skipped: operator-owned: controlled by Cluster.postgresql.cnpg.io pg-main"), "\(table)")
        #expect(!ReportRow.rows(of: report).contains { $0.pod == "pg-main-2" })
        let document = try JSONDecoder().decode(ReportRenderer.JSONDocument.self, from: Data(try ReportRenderer.json(report).utf8))
        #expect(document.skipped?.map(\.pod) == ["pg-main-2"])
        #expect(document.skipped?.first?.reason.hasPrefix("operator-owned: ") == true)
        #expect(cluster.writes.isEmpty)
    }

    @Test("a CloudNativePG pod the webhook pinned (opted in: it carries kate.dev/original-images) is swept as usual")
    func pinnedOperatorPodIsSwept() async throws {
        let pinned = try Self.cnpgPod(annotations: [KateAnnotations.originalImages: #"{"postgres":"ghcr.io/cloudnative-pg/postgresql:16.4"}"#])
        let cluster = InMemoryCluster(pods: [pinned])
        let report = try await SweeperPipelineTests.sweeper(cluster, Self.resolver, policy: ActionPolicy(action: .report)).run()
        #expect(report.reportedSkips.isEmpty)
        #expect(ReportRow.rows(of: report).contains { $0.pod == "pg-main-2" })
    }
}
