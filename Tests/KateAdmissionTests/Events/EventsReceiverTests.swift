import Foundation
import KateNet
import MetricsTestKit
import Testing
@testable import KateAdmission

/// `POST /registry-events` as a responder: authentication (bearer token, HMAC-SHA256 as GitHub
/// sends it), bad bodies, replays, failures, and the counter.
@Suite("registry events receiver")
struct EventsReceiverTests {
    static let token = "s3cret-token"
    static let secret = "hmac-secret"

    struct Harness {
        let receiver: RegistryEventsReceiver
        let refresher: RecordingRefresher
        let metrics: TestMetrics

        init(token: String? = EventsReceiverTests.token, secret: String? = nil, refresher: RecordingRefresher = RecordingRefresher()) {
            metrics = TestMetrics()
            self.refresher = refresher
            receiver = RegistryEventsReceiver(
                authentication: EventAuthentication(token: token, hmacSecret: secret)!, refresher: refresher, logger: TestLogging.quiet, metricsFactory: metrics)
        }

        func post(_ body: [UInt8], headers: HTTPHeaders, target: String = RegistryEventsReceiver.path) async -> HTTPResponse {
            await receiver.respond(to: .event(body, headers: headers, target: target), context: .test)
        }

        func count(_ format: String, _ result: String) -> Int64 {
            (try? metrics.expectCounter("kate_registry_events_total", [("format", format), ("result", result)]).totalValue) ?? 0
        }
    }

    private static func text(_ response: HTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    @Test("no secret at all: there is no anonymous receiver to build")
    func neverAnonymous() {
        #expect(EventAuthentication(token: nil, hmacSecret: nil) == nil)
        #expect(EventAuthentication(token: "", hmacSecret: "") == nil)
    }

    @Test("a good bearer token is refreshed; a wrong or missing one is 401 and nothing is resolved")
    func bearer() async throws {
        let harness = Harness()
        let body = try EventFixtures.bytes("distribution-push.json")
        let wrong = await harness.post(body, headers: ["Authorization": "Bearer nope"])
        #expect(wrong.status == 401)
        #expect(Self.text(wrong).contains("does not match"))
        let missing = await harness.post(body, headers: [:])
        #expect(missing.status == 401)
        #expect(Self.text(missing).contains("Authorization: Bearer"))
        #expect(harness.refresher.references.isEmpty)
        let good = await harness.post(body, headers: ["Authorization": "Bearer \(Self.token)"])
        #expect(good.status == 200)
        #expect(harness.refresher.references == ["127.0.0.1:58495/kate/demo:v1"])
        #expect(harness.count("unknown", "unauthorized") == 2)
        #expect(harness.count("distribution", "refreshed") == 1)
    }

    @Test("Docker Hub and Quay cannot set headers: the token in the URL is accepted")
    func queryToken() async throws {
        let harness = Harness()
        let response = await harness.post(try EventFixtures.bytes("dockerhub-push.json"), headers: [:], target: "/registry-events?token=\(Self.token)")
        #expect(response.status == 200)
        #expect(harness.refresher.references == ["docker.io/svendowideit/testhook:latest"])
        let wrong = await harness.post(try EventFixtures.bytes("quay-push.json"), headers: [:], target: "/registry-events?token=guess")
        #expect(wrong.status == 401)
    }

    @Test("X-Hub-Signature-256 over the raw body: the right HMAC passes, any other is 401")
    func hmac() async throws {
        let harness = Harness(token: nil, secret: Self.secret)
        var payload = try EventFixtures.object("github-package-published.json")
        var package = payload["package"] as? [String: Any] ?? [:]
        var version = package["package_version"] as? [String: Any] ?? [:]
        version["container_metadata"] = ["tag": ["name": "v1", "digest": ""]]
        package["package_version"] = version
        payload["package"] = package
        let body = try EventFixtures.encode(payload)
        let signature = HMACSHA256.hex(key: Array(Self.secret.utf8), message: body)
        let good = await harness.post(body, headers: ["X-Hub-Signature-256": "sha256=\(signature)", "X-GitHub-Delivery": "d-1"])
        #expect(good.status == 200)
        #expect(harness.refresher.references == ["ghcr.io/codertocat/hello-world:v1"])
        let otherKey = HMACSHA256.hex(key: Array("other".utf8), message: body)
        #expect(await harness.post(body, headers: ["X-Hub-Signature-256": "sha256=\(otherKey)", "X-GitHub-Delivery": "d-2"]).status == 401)
        // The signature of a different body (one byte changed) does not carry over.
        let tampered = body + Array(" ".utf8)
        #expect(await harness.post(tampered, headers: ["X-Hub-Signature-256": "sha256=\(signature)", "X-GitHub-Delivery": "d-3"]).status == 401)
        // A bearer header is no way in when only the HMAC secret is configured.
        #expect(await harness.post(body, headers: ["Authorization": "Bearer \(Self.secret)"]).status == 401)
        #expect(harness.refresher.references.count == 1)
    }

    @Test("HMAC-SHA256 matches RFC 4231 test case 2 and openssl's answer")
    func hmacVector() {
        // RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?".
        #expect(HMACSHA256.hex(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
            == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(ConstantTime.equal([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equal([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equal([1, 2], [1, 2, 3]))
    }

    @Test("an unknown body is 400 with the reason, after authentication")
    func unknownPayload() async {
        let harness = Harness()
        let response = await harness.post(Array("{\"hello\":1}".utf8), headers: ["Authorization": "Bearer \(Self.token)"])
        #expect(response.status == 400)
        #expect(Self.text(response).contains("no registry push notification kate knows"))
        #expect(harness.count("unknown", "invalid") == 1)
    }

    @Test("a retried notification (same event id) is 200 and counted as a replay, resolved once")
    func replayByID() async throws {
        let harness = Harness()
        let body = try EventFixtures.bytes("acr-push.json")
        for _ in 0..<3 {
            #expect(await harness.post(body, headers: ["Authorization": "Bearer \(Self.token)"]).status == 200)
        }
        #expect(harness.refresher.references == ["myregistry.azurecr.io/hello-world:v1"])
        #expect(harness.count("acr", "replayed") == 2)
    }

    @Test("without an id, the same tag and digest within the window is a replay; a new digest is not")
    func replayByContent() {
        let replays = ReplayGuard(contentWindow: .seconds(60))
        let digest = "sha256:" + String(repeating: "d", count: 64)
        let push = try! RegistryPush.make(format: "quay", host: "quay.io", repository: "a/b", tag: "v1", digest: digest, eventID: nil)
        let start = ContinuousClock.now
        #expect(replays.firstSighting(of: push, now: start))
        #expect(!replays.firstSighting(of: push, now: start + .seconds(30)))
        var moved = push
        moved.digest = "sha256:" + String(repeating: "e", count: 64)
        #expect(replays.firstSighting(of: moved, now: start + .seconds(30)))
        #expect(replays.firstSighting(of: push, now: start + .seconds(61)))
    }

    @Test("the guard stays bounded under a flood of distinct ids")
    func replayBound() {
        let replays = ReplayGuard(capacity: 100)
        for index in 0..<1000 {
            let push = try! RegistryPush.make(format: "acr", host: "r.io", repository: "a", tag: "v1", digest: nil, eventID: "id-\(index)")
            #expect(replays.firstSighting(of: push))
        }
        let last = try! RegistryPush.make(format: "acr", host: "r.io", repository: "a", tag: "v1", digest: nil, eventID: "id-999")
        #expect(!replays.firstSighting(of: last))
    }

    @Test("a tag that cannot be resolved is 502 (the registry retries) and the retry runs again")
    func failureIsRetried() async throws {
        let harness = Harness(refresher: RecordingRefresher(failure: "registry unreachable"))
        let body = try EventFixtures.bytes("acr-push.json")
        let first = await harness.post(body, headers: ["Authorization": "Bearer \(Self.token)"])
        #expect(first.status == 502)
        #expect(Self.text(first).contains("registry unreachable"))
        #expect(await harness.post(body, headers: ["Authorization": "Bearer \(Self.token)"]).status == 502)
        #expect(harness.refresher.references.count == 2)
        #expect(harness.count("acr", "failed") == 2)
    }

    @Test("every real sample is accepted with the token (200), and rejected without it (401)", arguments: [
        "distribution-push.json", "dockerhub-push.json", "harbor-push.json", "quay-push.json", "quay-push-legacy.json",
        "acr-push.json", "github-package-published.json", "harbor-cloudevents-push.json",
    ])
    func everySample(_ name: String) async throws {
        let harness = Harness()
        let body = try EventFixtures.bytes(name)
        #expect(await harness.post(body, headers: [:]).status == 401)
        let response = await harness.post(body, headers: ["Authorization": "Bearer \(Self.token)"])
        #expect(response.status == 200)
        let summary = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        let refreshed = (summary?["refreshed"] as? [Any])?.count ?? 0
        let ignored = (summary?["ignored"] as? [Any])?.count ?? 0
        // GitHub's sample has an empty tag: recognised and ignored; every other sample names one tag.
        #expect(refreshed + ignored >= 1)
        #expect(refreshed == (name.hasPrefix("github") ? 0 : 1))
    }
}
