import Foundation
import KateAdmission
import KateNet
import KateRegistry
import Logging
import MetricsTestKit
import Synchronization
import Testing

@Suite("Mutating webhook responder")
struct MutatingWebhookTests {
    static func context(deadline: Duration = .seconds(30)) -> RequestContext {
        RequestContext(remoteAddress: "127.0.0.1:40000", deadline: .now + deadline, logger: TestLogging.quiet)
    }

    static func webhook(_ harness: PinHarness, metrics: TestMetrics, namespaceOptOut: (any NamespaceOptOutChecking)? = nil) -> MutatingWebhook {
        let pinner = PodPinner(
            configuration: harness.configuration, resolver: harness.resolver, keyrings: harness.keyrings, memory: harness.memory,
            namespaceOptOut: namespaceOptOut)
        return MutatingWebhook(pinner: pinner, metrics: AdmissionMetrics(factory: metrics), logger: TestLogging.quiet)
    }

    @Test("a review is answered 200 with the v1 envelope, and counted")
    func answersAndCounts() async throws {
        let metrics = TestMetrics()
        let webhook = Self.webhook(PinHarness(resolver: ExampleImages.resolver()), metrics: metrics)
        let request = HTTPRequest(method: "POST", target: "/mutate?timeout=10s", headers: ["Content-Type": "application/json"],
                                  body: try Fixtures.bytes(Fixtures.podCreate))
        let response = await webhook.respond(to: request, context: Self.context())
        #expect(response.status == 200)
        #expect(response.headers["Content-Type"] == "application/json")
        let body = try JSONValue.parse(response.body)
        #expect(body.at("/response/uid") == .string(Fixtures.uid))
        #expect(body.at("/response/patchType") == .string("JSONPatch"))
        #expect(try metrics.expectCounter("kate_admission_reviews_total", [("result", "pinned")]).totalValue == 1)
        #expect(try metrics.expectCounter("kate_admission_images_pinned_total").totalValue == 3)
        #expect(try metrics.expectTimer("kate_admission_duration_seconds").values.count == 1)
    }

    @Test("malformed bodies are 400 with the reason, and counted")
    func malformed() async throws {
        let metrics = TestMetrics()
        let webhook = Self.webhook(PinHarness(), metrics: metrics)
        let response = await webhook.respond(to: HTTPRequest(method: "POST", target: "/mutate", body: Array(#"{"kind":"#.utf8)), context: Self.context())
        #expect(response.status == 400)
        #expect(String(decoding: response.body, as: UTF8.self).contains("malformed AdmissionReview"))
        #expect(try metrics.expectCounter("kate_admission_invalid_reviews_total").totalValue == 1)
    }

    @Test("?timeout= bounds the answer: 2s minus the 1s margin, for a registry that never answers")
    func timeoutQuery() async throws {
        var script = FakeResolver.Script()
        script.delays = [FakeResolver.key(ExampleImages.web): .seconds(60), FakeResolver.key(ExampleImages.migrate): .seconds(60),
                         FakeResolver.key(ExampleImages.shipper): .seconds(60)]
        let metrics = TestMetrics()
        let webhook = Self.webhook(PinHarness(resolver: FakeResolver(script)), metrics: metrics)
        let started = ContinuousClock.now
        let response = await webhook.respond(
            to: HTTPRequest(method: "POST", target: "/mutate?timeout=2s", body: try Fixtures.bytes(Fixtures.podCreate)), context: Self.context())
        let elapsed = ContinuousClock.now - started
        // Waited for the registry until the deadline (1s), and answered before the apiserver gives up (2s).
        #expect(elapsed >= .milliseconds(990) && elapsed < .seconds(2))
        let body = try JSONValue.parse(response.body)
        #expect(body.at("/response/allowed") == .bool(true))
        #expect(body.at("/response/patch") == nil)
        #expect(body.at("/response/warnings")?.arrayValue?.count == 3)
        #expect(try metrics.expectCounter("kate_admission_reviews_total", [("result", "failed_open")]).totalValue == 1)
        #expect(try metrics.expectCounter("kate_admission_resolve_failures_total", [("class", "timeout")]).totalValue == 3)
    }

    @Test("a namespace labelled kate.dev/skip=true is skipped; the lookup is cached")
    func namespaceLabel() async throws {
        let lookups = LockedCounter()
        let optOut = NamespaceLabelOptOut { name in
            lookups.increment()
            return name == "shop" ? ["kate.dev/skip": "true"] : [:]
        }
        let metrics = TestMetrics()
        let harness = PinHarness(resolver: ExampleImages.resolver())
        let webhook = Self.webhook(harness, metrics: metrics, namespaceOptOut: optOut)
        for _ in 0..<3 {
            let response = await webhook.respond(
                to: HTTPRequest(method: "POST", target: "/mutate", body: try Fixtures.bytes(Fixtures.podCreate)), context: Self.context())
            #expect(try JSONValue.parse(response.body).at("/response/patch") == nil)
        }
        #expect(lookups.value == 1)
        #expect(harness.resolver.lookups.isEmpty)
        #expect(try metrics.expectCounter("kate_admission_reviews_total", [("result", "skipped")]).totalValue == 3)
    }
}

final class LockedCounter: Sendable {
    private let count = Synchronization.Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
