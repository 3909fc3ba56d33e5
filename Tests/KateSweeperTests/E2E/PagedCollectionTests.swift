import Foundation
import KateKube
import KateSweeper
import KubeTestServer
import RegistryTestSupport
import Testing

/// The sweep reads pods page by page (500 a page) and keeps only their targets: every pod once,
/// also when the list restarts after an expired continue token.
@Suite("kate sweep collects pods page by page", .serialized)
struct PagedCollectionTests {
    static func loadPods(_ h: SweepHarness, count: Int, digest: String) throws {
        for index in 0..<count {
            try h.put(Fixtures.pod(
                namespace: "ns-\(index % 7)", name: "pod-\(index)",
                containers: [.init(name: "app", image: h.image("team/app", "1"), imageID: "\(h.registry.host)/team/app@\(digest)")]))
        }
    }

    @Test func everyPodOfThreePagesIsReportedOnce() async throws {
        try await SweepHarness.run { h in
            let current = try await h.registry.push(repository: "team/app", tag: "1")
            try Self.loadPods(h, count: 1_234, digest: current)
            h.kube.clearRecordedCalls()

            let report = try await h.sweep(SweepHarness.policy(.report))

            let pages = h.kube.recordedCalls.filter { $0.method == "GET" && $0.path == "/api/v1/pods" }
            #expect(pages.count == 3)
            #expect(report.podCount == 1_234 && report.findings.count == 1_234)
            #expect(Set(report.findings.map { "\($0.target.pod.namespace)/\($0.target.pod.name)" }).count == 1_234)
            #expect(Set(report.findings.map(\.judgement.verdict)) == [.current])
        }
    }

    @Test func aListRestartedAfter410DropsThePagesItHadAlreadyGiven() async throws {
        try await SweepHarness.run { h in
            let current = try await h.registry.push(repository: "team/app", tag: "1")
            try Self.loadPods(h, count: 1_100, digest: current)
            // Page 2's continue token has expired: the pager starts over from page 1.
            h.kube.expireNextContinueTokens(count: 1)
            h.kube.clearRecordedCalls()

            let report = try await h.sweep(SweepHarness.policy(.report))

            let pages = h.kube.recordedCalls.filter { $0.method == "GET" && $0.path == "/api/v1/pods" }
            #expect(pages.count == 5, "page 1, expired page 2, then pages 1-3 again: \(pages.count)")
            #expect(report.podCount == 1_100, "\(report.podCount) pods: the pages before the restart were counted twice")
            #expect(report.findings.count == 1_100)
        }
    }
}
