import Foundation
import KateAdmission
import KateNet
import KateRegistry
import Logging
import MetricsTestKit
import Synchronization
import Testing

/// What the webhook writes at each level (issue 13: a JSON line per review at `info` cost more
/// than the review). Written through kate's real handler into a recording sink.
@Suite("Admission log lines")
struct AdmissionLoggingTests {
    final class Lines: LogSink {
        private let recorded = Mutex<[String]>([])
        func write(line: [UInt8]) { recorded.withLock { $0.append(String(decoding: line, as: UTF8.self)) } }
        var objects: [[String: Any]] {
            recorded.withLock { $0 }.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }
        var count: Int { recorded.withLock { $0.count } }
    }

    static func webhook(level: Logger.Level, resolver: FakeResolver, lines: Lines, summary: AdmissionSummary = AdmissionSummary()) -> MutatingWebhook {
        let logger = Logger(label: "kate.webhook") { KateLogHandler(label: $0, format: .json, level: level, sink: lines) }
        let pinner = PodPinner(configuration: AdmissionConfiguration(), resolver: resolver, keyrings: StaticKeyringProvider(node: .empty))
        return MutatingWebhook(pinner: pinner, metrics: AdmissionMetrics(factory: TestMetrics()), logger: logger, summary: summary)
    }

    static func review() throws -> HTTPRequest {
        HTTPRequest(method: "POST", target: "/mutate?timeout=10s", body: try Fixtures.bytes(Fixtures.podCreate))
    }

    @Test("at info a pinned review writes nothing; at debug it writes one line with the outcome and images")
    func pinnedReviewIsDebug() async throws {
        let quiet = Lines()
        let atInfo = Self.webhook(level: .info, resolver: ExampleImages.resolver(), lines: quiet)
        for _ in 0..<20 { #expect(await atInfo.respond(to: try Self.review(), context: MutatingWebhookTests.context()).status == 200) }
        #expect(quiet.count == 0)

        let verbose = Lines()
        let atDebug = Self.webhook(level: .debug, resolver: ExampleImages.resolver(), lines: verbose)
        _ = await atDebug.respond(to: try Self.review(), context: MutatingWebhookTests.context())
        let line = try #require(verbose.objects.first { $0["msg"] as? String == "admission review" })
        #expect(line["level"] as? String == "debug")
        #expect(line["outcome"] as? String == "pinned")
        #expect((line["images"] as? [String])?.count == 3)
    }

    @Test("an image that could not be pinned is a warning at info, naming the image and the error")
    func failureIsWarning() async throws {
        var script = FakeResolver.Script()
        script.failures[FakeResolver.key(ExampleImages.web)] = RegistryError(
            .network, registry: "registry.acme.example:5000", repository: "shop/web", tag: "2.4.1", detail: "connection refused")
        script.digests[FakeResolver.key(ExampleImages.migrate)] = digest("b")
        script.digests[FakeResolver.key(ExampleImages.shipper)] = digest("c")
        let lines = Lines()
        let webhook = Self.webhook(level: .info, resolver: FakeResolver(script), lines: lines)
        _ = await webhook.respond(to: try Self.review(), context: MutatingWebhookTests.context())
        let warning = try #require(lines.objects.first)
        #expect(lines.count == 1)
        #expect(warning["level"] as? String == "warning")
        #expect(warning["outcome"] as? String == "failed_open")
        let errors = try #require(warning["errors"] as? [String])
        #expect(errors.count == 1 && errors[0].contains("shop/web") && errors[0].contains("connection refused"))
    }

    @Test("during a known outage (circuit open) a failing review is not a warning: the circuit's own line said it")
    func knownOutageIsDebug() async throws {
        var script = FakeResolver.Script()
        for image in [ExampleImages.web, ExampleImages.migrate, ExampleImages.shipper] {
            script.failures[FakeResolver.key(image)] = RegistryError(
                .network, registry: "registry.acme.example:5000", repository: "x", tag: "1", detail: "circuit open",
                unreachableSince: Date(timeIntervalSince1970: 1_790_000_000))
        }
        let quiet = Lines()
        let atInfo = Self.webhook(level: .info, resolver: FakeResolver(script), lines: quiet)
        for _ in 0..<20 { _ = await atInfo.respond(to: try Self.review(), context: MutatingWebhookTests.context()) }
        #expect(quiet.count == 0, "\(quiet.objects.prefix(2))")
        let verbose = Lines()
        let atDebug = Self.webhook(level: .debug, resolver: FakeResolver(script), lines: verbose)
        _ = await atDebug.respond(to: try Self.review(), context: MutatingWebhookTests.context())
        let line = try #require(verbose.objects.first { $0["msg"] as? String == "admission review" })
        #expect(line["level"] as? String == "debug")
        #expect(line["outcome"] as? String == "failed_open")
    }

    @Test("at info one summary line per interval counts the reviews by outcome")
    func summaryPerInterval() async throws {
        let lines = Lines()
        let started = ContinuousClock.now
        // An interval that is already over when the first review arrives, then a long one.
        let summary = AdmissionSummary(interval: .seconds(3600), start: started - .seconds(3601))
        let webhook = Self.webhook(level: .info, resolver: ExampleImages.resolver(), lines: lines, summary: summary)
        for _ in 0..<5 { _ = await webhook.respond(to: try Self.review(), context: MutatingWebhookTests.context()) }
        let objects = lines.objects
        #expect(objects.count == 1)
        let line = try #require(objects.first)
        #expect(line["msg"] as? String == "admission summary")
        #expect(line["level"] as? String == "info")
        #expect(line["reviews"] as? String == "1")
        #expect(line["pinned"] as? String == "1")
        #expect(line["imagesPinned"] as? String == "3")
        #expect(line["interval"] as? String == "1h")

        // The next summary counts what came after the first one.
        let counts = summary.record(.failedOpen, imagesPinned: 0, now: ContinuousClock.now + .seconds(3601))
        #expect(counts == AdmissionSummary.Counts(reviews: 5, pinned: 4, failedOpen: 1, imagesPinned: 12))
    }

    @Test("above info (logging off) the summary is not even counted")
    func noSummaryWhenOff() async throws {
        let lines = Lines()
        let summary = AdmissionSummary(interval: .seconds(1), start: ContinuousClock.now - .seconds(10))
        let webhook = Self.webhook(level: .critical, resolver: ExampleImages.resolver(), lines: lines, summary: summary)
        for _ in 0..<3 { _ = await webhook.respond(to: try Self.review(), context: MutatingWebhookTests.context()) }
        #expect(lines.count == 0)
        #expect(summary.record(.pinned, imagesPinned: 0, now: .now)?.reviews == 1)
    }
}
