import Foundation
import KateAdmission
import KateKube
import KateNet
import KubeTestServer
import Logging
import MetricsTestKit
import Synchronization
import Testing

/// The guards in front of pinning (operator scope, mutation-loop breaker, mirror and kate's own pods), driven through
/// `MutatingWebhook` with real-shaped reviews; the namespace label and the Event go through the real `KubeClient` to
/// the Kubernetes test API server.
@Suite("Pinning guards: operator scope, loop breaker, mirror and self")
struct PinningGuardsTests {
    static let cnpg = "reviews/cnpg-instance-create.json"
    static let cnpgKind = "Cluster.postgresql.cnpg.io"

    /// The fake registry knows every image of the fixtures used here.
    static func resolver() -> FakeResolver {
        let fake = ExampleImages.resolver()
        fake.setDigest(digest("e"), for: "ghcr.io/cloudnative-pg/postgresql:16.4")
        fake.setDigest(digest("f"), for: "ghcr.io/cloudnative-pg/cloudnative-pg:1.24.1")
        fake.setDigest(digest("1"), for: "quay.io/strimzi/kafka:0.43.0-kafka-3.8.0")
        fake.setDigest(digest("2"), for: "registry.k8s.io/etcd:3.5.15-0")
        fake.setDigest(digest("3"), for: "quay.io/prometheus/prometheus:v2.54.1")
        fake.setDigest(digest("4"), for: "quay.io/prometheus-operator/prometheus-config-reloader:v0.76.0")
        return fake
    }

    struct Rig {
        let webhook: MutatingWebhook
        let metrics: TestMetrics
        let breaker: MutationLoopBreaker?

        /// Posts `review` to /mutate and returns the answer's `response`.
        func admit(_ review: [UInt8]) async throws -> JSONValue {
            let request = HTTPRequest(method: "POST", target: "/mutate?timeout=10s", headers: ["Content-Type": "application/json"], body: review)
            let answer = await webhook.respond(to: request, context: MutatingWebhookTests.context())
            #expect(answer.status == 200)
            return try #require(try JSONValue.parse(answer.body).at("/response"))
        }

        func counter(_ label: String, _ dimensions: [(String, String)] = []) -> Int64 {
            (try? metrics.expectCounter(label, dimensions).totalValue) ?? 0
        }
    }

    static func rig(
        policy: AdmissionPolicy = AdmissionPolicy(), loopBreaker: MutationLoopBreaker.Settings? = .init(),
        namespaces: (any NamespaceOptOutChecking)? = nil, events: (any LoopEventRecording)? = nil, replicas: OwnerReplicas? = nil
    ) -> Rig {
        let configuration = AdmissionConfiguration(policy: policy, loopBreaker: loopBreaker)
        let pinner = PodPinner(configuration: configuration, resolver: resolver(), keyrings: StaticKeyringProvider(node: .empty), namespaceOptOut: namespaces)
        let breaker = loopBreaker.map { MutationLoopBreaker(settings: $0) }
        let guards = PinningGuards(policy: policy, namespaces: namespaces, breaker: breaker, events: events, reportingInstance: "kate-webhook-test", replicas: replicas)
        let metrics = TestMetrics()
        let webhook = MutatingWebhook(pinner: pinner, metrics: AdmissionMetrics(factory: metrics), logger: TestLogging.quiet, guards: guards)
        return Rig(webhook: webhook, metrics: metrics, breaker: breaker)
    }

    static func isPatched(_ response: JSONValue) -> Bool { response.at("/patch")?.stringValue?.isEmpty == false }
    static func warnings(_ response: JSONValue) -> [JSONValue] {
        if case .array(let list) = response.at("/warnings") { return list }
        return []
    }

    // MARK: operator scope

    @Test("a CloudNativePG instance pod is left unpinned by default, with no warning, a metric and no API read")
    func operatorOwnedUnpinnedByDefault() async throws {
        let rig = Self.rig()
        let response = try await rig.admit(try Fixtures.bytes(Self.cnpg))
        #expect(response.at("/allowed") == .bool(true))
        #expect(!Self.isPatched(response))
        #expect(Self.warnings(response).isEmpty)
        #expect(rig.counter("kate_admission_skipped_total", [("reason", "operator-owned")]) == 1)
        #expect(rig.counter("kate_admission_reviews_total", [("result", "skipped")]) == 1)
    }

    @Test("Strimzi's pod (owner reference with controller: false) counts as operator-owned too")
    func strimziWithoutControllerFlag() async throws {
        let rig = Self.rig()
        let response = try await rig.admit(try Fixtures.bytes("reviews/strimzi-broker-create.json"))
        #expect(!Self.isPatched(response))
        #expect(rig.counter("kate_admission_skipped_total", [("reason", "operator-owned")]) == 1)
    }

    @Test("built-in controllers (ReplicaSet, StatefulSet) are pinned as before")
    func builtInPinned() async throws {
        let rig = Self.rig()
        #expect(Self.isPatched(try await rig.admit(try Fixtures.bytes(Fixtures.podCreate))))
        #expect(Self.isPatched(try await rig.admit(try Fixtures.bytes("reviews/prometheus-operator-statefulset-create.json"))))
        #expect(rig.counter("kate_admission_skipped_total", [("reason", "operator-owned")]) == 0)
    }

    @Test("opted in by kind: --pin-operator-owned Cluster.postgresql.cnpg.io, or Cluster for any group", arguments: ["Cluster.postgresql.cnpg.io", "cluster"])
    func optedInByKind(_ flag: String) async throws {
        let rig = Self.rig(policy: AdmissionPolicy(pinOperatorOwnedKinds: [try #require(OwnerKindPattern(flag))]))
        let response = try await rig.admit(try Fixtures.bytes(Self.cnpg))
        #expect(Self.isPatched(response))
        #expect(rig.counter("kate_admission_skipped_total", [("reason", "operator-owned")]) == 0)
    }

    @Test("another group's Cluster kind does not opt CloudNativePG in")
    func otherGroupDoesNotMatch() async throws {
        let rig = Self.rig(policy: AdmissionPolicy(pinOperatorOwnedKinds: [try #require(OwnerKindPattern("Cluster.cluster.x-k8s.io"))]))
        #expect(!Self.isPatched(try await rig.admit(try Fixtures.bytes(Self.cnpg))))
    }

    @Test("opted in by namespace label kate.dev/pin-operator-owned=true, read from the API server")
    func optedInByNamespaceLabel() async throws {
        let api = try await KubeTestServer.start(logger: TestLogging.quiet)
        try api.addNamespace("db", labels: ["kate.dev/pin-operator-owned": "true"])
        try api.addNamespace("kafka", labels: ["kate.dev/pin-operator-owned": "false"])
        let client = KubeClient(configuration: api.clientConfiguration, logger: TestLogging.quiet)
        let rig = Self.rig(namespaces: NamespaceLabelOptOut(client: client))
        #expect(Self.isPatched(try await rig.admit(try Fixtures.bytes(Self.cnpg))))
        #expect(!Self.isPatched(try await rig.admit(try Fixtures.bytes("reviews/strimzi-broker-create.json"))))
        #expect(rig.counter("kate_admission_skipped_total", [("reason", "operator-owned")]) == 1)
        await client.shutdown()
        await api.stop()
    }

    @Test("the validating webhook does not deny the operator-owned pods the mutating webhook left unpinned")
    func validatingExemptsOperatorOwned() throws {
        let validating = ValidatingWebhook(policy: AdmissionPolicy(), logger: TestLogging.quiet)
        #expect(validating.validate(try Fixtures.request(try Fixtures.bytes(Self.cnpg))).allowed)
        let optedIn = ValidatingWebhook(policy: AdmissionPolicy(pinOperatorOwnedKinds: [try #require(OwnerKindPattern(Self.cnpgKind))]), logger: TestLogging.quiet)
        #expect(!optedIn.validate(try Fixtures.request(try Fixtures.bytes(Self.cnpg))).allowed)
    }

    @Test("--pin-operator-owned parsing", arguments: [
        ("Cluster.postgresql.cnpg.io", "cluster.postgresql.cnpg.io"), ("Cluster", "cluster"), (" Kafka.kafka.strimzi.io ", "kafka.kafka.strimzi.io"),
        ("", nil), (".cnpg.io", nil), ("Cluster.", nil),
    ] as [(String, String?)])
    func kindPatternParsing(_ text: String, _ parsed: String?) {
        #expect(OwnerKindPattern(text)?.description == parsed)
    }

    // MARK: mirror, self, sha256-only

    /// `pod` (as `kubectl get -o json` prints it) arriving in a CREATE review.
    static func createReview(pod: [UInt8], dryRun: Bool = false) throws -> [UInt8] {
        guard case .object(var object) = try JSONValue.parse(pod) else { throw JSONPatchApplier.Failure(description: "pod is not an object") }
        object["status"] = nil
        let metadata = object["metadata"]
        let review: JSONValue = .object([
            "apiVersion": .string("admission.k8s.io/v1"), "kind": .string("AdmissionReview"),
            "request": .object([
                "uid": .string(UUID().uuidString.lowercased()),
                "kind": .object(["group": .string(""), "version": .string("v1"), "kind": .string("Pod")]),
                "resource": .object(["group": .string(""), "version": .string("v1"), "resource": .string("pods")]),
                "namespace": metadata?.at("/namespace") ?? .null, "name": metadata?.at("/name") ?? .null,
                "operation": .string("CREATE"), "dryRun": .bool(dryRun), "object": .object(object),
            ]),
        ])
        return review.bytes
    }

    @Test("a static pod's mirror (kubernetes.io/config.mirror) is never patched, even outside kube-system")
    func mirrorPodUntouched() async throws {
        let rig = Self.rig(policy: AdmissionPolicy(skipNamespaces: []))
        let response = try await rig.admit(try Self.createReview(pod: try Fixture.podStaticEtcd.bytes()))
        #expect(response.at("/allowed") == .bool(true))
        #expect(!Self.isPatched(response))
        #expect(Self.warnings(response).isEmpty)
        #expect(rig.counter("kate_admission_reviews_total", [("result", "skipped")]) == 1)
    }

    @Test("kate's own pod (label app.kubernetes.io/part-of=kate) is never patched, whatever its namespace")
    func ownPodUntouched() async throws {
        let rig = Self.rig()
        let own = try Fixtures.review(Fixtures.podCreate, edits: """
            [{"op":"replace","path":"/request/object/metadata/labels/app.kubernetes.io~1part-of","value":"kate"}]
            """)
        let response = try await rig.admit(own)
        #expect(!Self.isPatched(response))
        #expect(rig.counter("kate_admission_reviews_total", [("result", "skipped")]) == 1)
        // The same pod as part of the shop is pinned: it was the label that decided.
        #expect(Self.isPatched(try await rig.admit(try Fixtures.bytes(Fixtures.podCreate))))
    }

    @Test("an image given as a bare sha256: ID is left alone by rule, with no registry lookup")
    func bareImageIDLeftAlone() async throws {
        let rig = Self.rig()
        let bare = "sha256:" + String(repeating: "ab", count: 32)
        let review = try Fixtures.review(Fixtures.podCreate, edits: """
            [{"op":"replace","path":"/request/object/spec/containers/0/image","value":"\(bare)"}]
            """)
        let response = try await rig.admit(review)
        let patch = try #require(response.at("/patch")?.stringValue)
        let operations = String(decoding: try #require(Data(base64Encoded: patch)), as: UTF8.self)
        #expect(!operations.contains("/spec/containers/0/image"), "the bare ID must not be rewritten: \(operations)")
        #expect(Self.warnings(response).contains { $0.stringValue?.contains(bare) == true } == false)
    }
}
