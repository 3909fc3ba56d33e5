import Foundation
import KateKube
import KateNet
import Logging
import MetricsTestKit
import Synchronization
import Testing
@testable import KateSweeper

/// A loopback webhook receiver on KateNet's HTTPServer: records each POST's body and answers from a script.
final class NotifyReceiver: Sendable {
    struct Reply: Sendable {
        var status = 200
        var headers: [(String, String)] = []
        var delay: Duration = .zero
    }

    struct Received: Sendable {
        var path: String
        var contentType: String?
        var body: [UInt8]
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] }
    }

    private let server: HTTPServer
    private let runner: Task<Void, Never>
    final class Log: Sendable {
        let entries = Mutex<[Received]>([])
    }

    private let log: Log
    let port: Int
    var received: [Received] { log.entries.withLock { $0 } }

    let scheme: String
    var url: String { "\(scheme)://127.0.0.1:\(port)/hook" }

    /// `script(n)`: the reply to the n-th POST (from 0). With `tls`, https.
    init(tls: TLSServerContext? = nil, _ script: @escaping @Sendable (Int) -> Reply = { _ in Reply() }) async throws {
        let log = Log()
        let responder = ClosureResponder { request, _ in
            let index = log.entries.withLock { list in
                list.append(Received(path: request.path, contentType: request.headers["Content-Type"], body: request.body))
                return list.count - 1
            }
            let reply = script(index)
            if reply.delay > .zero { try? await Task.sleep(for: reply.delay) }
            return HTTPResponse(status: reply.status, headers: HTTPHeaders(reply.headers), body: Array("ok".utf8))
        }
        var quiet = Logger(label: "notify-receiver")
        quiet.logLevel = .critical
        let server = HTTPServer(
            configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0, gracePeriod: .milliseconds(100)), tls: tls, responder: responder, logger: quiet)
        self.scheme = tls == nil ? "http" : "https"
        self.port = try await server.start()
        self.server = server
        self.log = log
        self.runner = Task { await server.run() }
    }

    func stop() async {
        await server.shutdown(gracePeriod: .milliseconds(100))
        await runner.value
    }
}

@Suite("sweep notifications")
struct NotifyTests {
    static let now = SweepClock.parse("2026-12-05T01:30:00Z")!

    static func sweep(
        _ cluster: InMemoryCluster, notify: NotifyOptions, policy: ActionPolicy = ActionPolicy(), windows: [MaintenanceWindow] = [],
        metrics: TestMetrics = TestMetrics()
    ) async throws -> SweepReport {
        var configuration = SweeperConfiguration(policy: policy)
        configuration.notify = notify
        configuration.windows = windows
        let sweeper = Sweeper(
            cluster: cluster, resolver: SweeperPipelineTests.resolver, configuration: configuration, logger: Logger(label: "test"),
            metrics: SweepMetrics(factory: metrics))
        return try await sweeper.run(now: now)
    }

    static func webCluster() throws -> InMemoryCluster {
        InMemoryCluster(pods: try SweeperPipelineTests.webPods(), workloads: SweeperPipelineTests.workloads)
    }

    static func soloPods(_ count: Int) throws -> InMemoryCluster {
        InMemoryCluster(pods: try (1...count).map { index in
            try Fixtures.decodePod(Fixtures.pod(name: "solo-\(index)", containers: [.init(name: "app", image: "registry.local/web:1", imageID: "registry.local/web@\(SweeperPipelineTests.old)")]))
        })
    }

    /// Short waits so retries fit the test; the shipped defaults are in `NotifyOptions.init`.
    static func options(_ receiver: NotifyReceiver, format: String = "auto", budget: Duration = .seconds(10), postTimeout: Duration = .seconds(5)) throws -> NotifyOptions {
        NotifyOptions(
            targets: [try NotifyTarget(url: receiver.url, format: format)], postTimeout: postTimeout, totalBudget: budget,
            retry: RetryPolicy(maxAttempts: 3, initialBackoff: .milliseconds(20), maxBackoff: .milliseconds(50), maxRetryAfter: .seconds(5)))
    }

    @Test func oneJSONPostPerActionWithTheDigestDiff() async throws {
        let receiver = try await NotifyReceiver()
        let metrics = TestMetrics()
        let cluster = try Self.webCluster()
        let report = try await Self.sweep(cluster, notify: try Self.options(receiver), metrics: metrics)
        await receiver.stop()
        #expect(cluster.writes == ["restart Deployment default/web"])
        #expect(report.warnings.allSatisfy { !$0.contains("notifications") })
        let posts = receiver.received
        try #require(posts.count == 1)
        #expect(posts[0].path == "/hook" && posts[0].contentType == "application/json")
        let body = try #require(posts[0].json)
        #expect(body["event"] as? String == "action")
        #expect(body["namespace"] as? String == "default")
        #expect(body["owner"] as? String == "Deployment/web")
        #expect(body["verdict"] as? String == "tag-moved")
        #expect(body["action"] as? String == "restart")
        #expect(body["outcome"] as? String == "done")
        #expect(body["reason"] as? String == "restarted Deployment/web")
        #expect(body["tag"] as? String == "registry.local/web:1")
        #expect(body["oldDigest"] as? String == SweeperPipelineTests.old)
        #expect(body["newDigest"] as? String == SweeperPipelineTests.new)
        #expect(body["sweepTime"] as? String == "2026-12-05T01:30:00Z")
        #expect((body["pods"] as? [String])?.count == 5)
        // One fixed shape: a key without a value is null, not missing.
        #expect(body.keys.contains("guard") && body["guard"] is NSNull)
        #expect(Set(body.keys) == ["event", "guard", "namespace", "owner", "verdict", "action", "outcome", "reason", "tag", "oldDigest", "newDigest", "pods", "images", "sweepTime"])
        #expect(try metrics.expectCounter("kate_sweep_notifications_total", [("outcome", "sent")]).totalValue == 1)
    }

    @Test func slackWebhookGetsTextAndBlocks() async throws {
        let receiver = try await NotifyReceiver()
        _ = try await Self.sweep(try Self.webCluster(), notify: try Self.options(receiver, format: "slack"))
        await receiver.stop()
        let body = try #require(receiver.received.first?.json)
        let text = try #require(body["text"] as? String)
        #expect(text.contains("restart Deployment default/web") && text.contains("registry.local/web:1"))
        #expect(text.contains(ImageDigest.short(SweeperPipelineTests.old)) && text.contains(ImageDigest.short(SweeperPipelineTests.new)))
        let blocks = try #require(body["blocks"] as? [[String: Any]])
        #expect(blocks.first?["type"] as? String == "section")
        #expect(blocks.contains { ($0["fields"] as? [[String: Any]])?.contains { ($0["text"] as? String)?.contains("Deployment/web") == true } == true })
        #expect(body["event"] == nil)
        // Auto-detected from the host.
        #expect(try NotifyTarget(url: "https://hooks.slack.com/services/T0/B0/secret").format == .slack)
        #expect(try NotifyTarget(url: "https://hooks.slack.com/services/T0/B0/secret").redacted == "https://hooks.slack.com/…")
        #expect(try NotifyTarget(url: "https://example.net/hook").format == .json)
    }

    @Test func httpsIsVerified() async throws {
        let serving = try SelfSignedServing(dnsNames: ["localhost"])
        let receiver = try await NotifyReceiver(tls: try serving.makeContext(logger: Logger(label: "test")))
        // The system CA bundle does not know the loopback CA: refused, a warning, the sweep unaffected.
        let untrusted = try await Self.sweep(try Self.webCluster(), notify: try Self.options(receiver))
        #expect(receiver.received.isEmpty)
        #expect(untrusted.warnings.contains { $0.contains("notifications to https://127.0.0.1:\(receiver.port)/…") && $0.contains("TLS") })
        var trusting = try Self.options(receiver)
        trusting.tls.additionalTrustRoots = [.pem(serving.authority.certificatePEM)]
        let trusted = try await Self.sweep(try Self.webCluster(), notify: trusting)
        await receiver.stop()
        #expect(receiver.received.count == 1 && receiver.received.first?.json?["owner"] as? String == "Deployment/web")
        #expect(trusted.warnings.allSatisfy { !$0.contains("notifications to") })
    }

    @Test func retriesServerErrorsAndHonoursRetryAfter() async throws {
        let receiver = try await NotifyReceiver { index in
            switch index {
            case 0: NotifyReceiver.Reply(status: 500)
            case 1: NotifyReceiver.Reply(status: 429, headers: [("Retry-After", "1")])
            default: NotifyReceiver.Reply()
            }
        }
        let metrics = TestMetrics()
        let started = ContinuousClock.now
        let report = try await Self.sweep(try Self.webCluster(), notify: try Self.options(receiver), metrics: metrics)
        let elapsed = ContinuousClock.now - started
        await receiver.stop()
        #expect(receiver.received.count == 3)
        #expect(elapsed >= .seconds(1), "Retry-After: 1 was waited out")
        #expect(report.warnings.allSatisfy { !$0.contains("notifications") })
        #expect(try metrics.expectCounter("kate_sweep_notifications_total", [("outcome", "sent")]).totalValue == 1)
    }

    @Test func aRefusalIsNotRetriedAndBecomesAWarning() async throws {
        let receiver = try await NotifyReceiver { _ in NotifyReceiver.Reply(status: 404) }
        let metrics = TestMetrics()
        let cluster = try Self.webCluster()
        let report = try await Self.sweep(cluster, notify: try Self.options(receiver), metrics: metrics)
        await receiver.stop()
        #expect(receiver.received.count == 1)
        #expect(cluster.writes == ["restart Deployment default/web"])
        let warning = try #require(report.warnings.first { $0.contains("notifications to") })
        #expect(warning.contains("http://127.0.0.1:\(receiver.port)/…") && warning.contains("HTTP 404") && !warning.contains("/hook"))
        #expect(try metrics.expectCounter("kate_sweep_notifications_total", [("outcome", "failed")]).totalValue == 1)
    }

    /// Each attempt has `postTimeout`: a receiver that never answers costs 3 × 200 ms, not its 4 s.
    @Test func eachAttemptIsTimedOut() async throws {
        let receiver = try await NotifyReceiver { _ in NotifyReceiver.Reply(delay: .seconds(4)) }
        let metrics = TestMetrics()
        let started = ContinuousClock.now
        let report = try await Self.sweep(try Self.webCluster(), notify: try Self.options(receiver, postTimeout: .milliseconds(200)), metrics: metrics)
        let elapsed = ContinuousClock.now - started
        await receiver.stop()
        #expect(elapsed < .seconds(3), "took \(elapsed)")
        #expect(receiver.received.count == 3, "three attempts")
        #expect(report.warnings.contains { $0.contains("1 of 1 not delivered") && $0.contains("after 3 attempts") })
        #expect(try metrics.expectCounter("kate_sweep_notifications_total", [("outcome", "failed")]).totalValue == 1)
    }

    /// All of a sweep's notifications share `totalBudget`: with 3 s per attempt allowed, a silent
    /// receiver still holds the sweep for about the 500 ms budget, and the POSTs never started are skipped.
    @Test func aSlowReceiverDoesNotHoldTheSweepPastTheBudget() async throws {
        let receiver = try await NotifyReceiver { _ in NotifyReceiver.Reply(delay: .seconds(5)) }
        let metrics = TestMetrics()
        let cluster = try Self.soloPods(6)
        let started = ContinuousClock.now
        let report = try await Self.sweep(
            cluster, notify: try Self.options(receiver, budget: .milliseconds(500), postTimeout: .seconds(3)), metrics: metrics)
        let elapsed = ContinuousClock.now - started
        await receiver.stop()
        #expect(elapsed < .milliseconds(2500), "took \(elapsed)")
        #expect(cluster.writes.count == 6, "the sweep's own work is untouched")
        #expect(report.warnings.contains { $0.contains("notifications to") && $0.contains("6 of 6 not delivered") })
        #expect(try metrics.expectCounter("kate_sweep_notifications_total", [("outcome", "failed")]).totalValue == 4, "the 4 in flight")
        #expect(try metrics.expectCounter("kate_sweep_notifications_total", [("outcome", "skipped")]).totalValue == 2, "never started")
    }

    @Test func notifyModeWritesNothingAndPostsThePlan() async throws {
        let receiver = try await NotifyReceiver()
        let cluster = try Self.webCluster()
        let report = try await Self.sweep(cluster, notify: try Self.options(receiver), policy: ActionPolicy(action: .notify))
        await receiver.stop()
        #expect(cluster.writes.isEmpty && cluster.events.isEmpty)
        #expect(report.stalePods == 5 && report.exitCode == 2)
        let body = try #require(receiver.received.first?.json)
        #expect(body["outcome"] as? String == "planned" && body["action"] as? String == "restart")
        #expect(!ActionPolicy(action: .notify).writes)
    }

    @Test func outsideTheWindowTheHoldIsAGuard() async throws {
        let receiver = try await NotifyReceiver()
        let cluster = try Self.webCluster()
        _ = try await Self.sweep(cluster, notify: try Self.options(receiver), windows: try MaintenanceWindows.parse(["Sun 02:00-04:00 UTC"]))
        await receiver.stop()
        #expect(cluster.writes.isEmpty)
        let bodies = receiver.received.compactMap(\.json)
        try #require(bodies.count == 1)
        #expect(bodies[0]["event"] as? String == "held" && bodies[0]["guard"] as? String == "outside-window")
        #expect(bodies[0]["owner"] as? String == "Deployment/web" && bodies[0]["action"] as? String == "hold")
        #expect(bodies[0]["reason"] as? String == "outside maintenance window (next: Sun 02:00 UTC)")
    }

    @Test func overTheCapOneSummary() async throws {
        let receiver = try await NotifyReceiver()
        var options = try Self.options(receiver)
        options.maxPerSweep = 2
        options.concurrency = 2
        _ = try await Self.sweep(try Self.soloPods(5), notify: options)
        await receiver.stop()
        let bodies = receiver.received.compactMap(\.json)
        #expect(bodies.count == 3)
        #expect(bodies.filter { $0["event"] as? String == "action" }.count == 2)
        let summary = try #require(bodies.first { $0["event"] as? String == "summary" })
        #expect(summary["count"] as? Int == 3)
    }

    /// An action taken because of a guard (a dangling pin rolled onto a fresh one, a reverted
    /// restart's paced evictions) names the guard too.
    @Test(arguments: [(Verdict.dangling, "dangling"), (Verdict.restartReverted, "restart-reverted"), (Verdict.tagMoved, nil)])
    func actionsNameTheGuardBehindThem(_ verdict: Verdict, _ guardName: String?) throws {
        let finding = ActionPlannerTests.finding(pod: "web-abc-1", owner: ActionPlannerTests.owner("ReplicaSet", "web-abc"), verdict: verdict)
        let pod = PodKey(namespace: "ns", name: "web-abc-1")
        let action = PlannedAction(
            operation: .evict(pod), subject: EventSubject(apiVersion: "apps/v1", kind: "ReplicaSet", namespace: "ns", name: "web-abc", uid: "u"),
            pods: [pod], evidence: [finding])
        let report = SweepReport(
            findings: [finding], results: [ActionResult(action: action, outcome: .done)], held: [:], skipped: [], podCount: 1, resolvedTags: 1,
            resolveErrors: 0, warnings: [], policy: ActionPolicy(), duration: .zero)
        let notifications = SweepNotifications.build(from: report, sweepTime: Self.now)
        try #require(notifications.count == 1)
        #expect(notifications[0].event == "action" && notifications[0].action == "evict" && notifications[0].outcome == "done")
        #expect(notifications[0].guardName == guardName && notifications[0].verdict == verdict.rawValue)
        #expect(notifications[0].owner == "ReplicaSet/web-abc" && notifications[0].reason == "evicted")
        #expect(notifications[0].oldDigest == Fixtures.digest("0") && notifications[0].newDigest == Fixtures.digest("1"))
    }

    @Test func guardsWithoutAHoldStillNotify() throws {
        // A platform gap is not stale: no action, no hold, but the guard fired.
        let finding = ActionPlannerTests.finding(pod: "web-abc-1", owner: ActionPlannerTests.owner("ReplicaSet", "web-abc"), verdict: .platformGap)
        var judged = finding
        judged.judgement.reason = "index lacks linux/arm64"
        let report = SweepReport(
            findings: [judged], results: [], held: [:], skipped: [], podCount: 1, resolvedTags: 1, resolveErrors: 0, warnings: [], policy: ActionPolicy(),
            duration: .zero)
        let notifications = SweepNotifications.build(from: report, sweepTime: Self.now)
        #expect(notifications.count == 1)
        #expect(notifications.first?.event == "guard" && notifications.first?.guardName == "platform-gap")
        #expect(notifications.first?.owner == "Deployment/web" && notifications.first?.reason == "index lacks linux/arm64")
    }
}
