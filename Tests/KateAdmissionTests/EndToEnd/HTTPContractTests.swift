import Foundation
import KateAdmission
import KateNet
import Testing

/// The HTTP side of the contract, over real TLS with kate's server: v1 answers, 400 and 413
/// with a reason while concurrent good reviews keep being answered.
@Suite("Webhook over TLS: the apiserver's contract")
struct HTTPContractTests {
    static func start(maxBodyBytes: Int = 8 << 20) async throws -> WebhookServer {
        let harness = PinHarness(resolver: ExampleImages.resolver())
        let mutating = MutatingWebhook(pinner: harness.pinner(), logger: WebhookServer.quietLogger)
        let validating = ValidatingWebhook(policy: AdmissionPolicy(), logger: WebhookServer.quietLogger)
        return try await WebhookServer.start(mutating: mutating, validating: validating, maxBodyBytes: maxBodyBytes)
    }

    @Test("v1 answer shape: apiVersion, kind, uid echo; patchType only with a patch")
    func v1Shape() async throws {
        let server = try await Self.start()
        let pinned = try await server.review(try Fixtures.bytes(Fixtures.podCreate))
        #expect(pinned.body.at("/apiVersion") == .string("admission.k8s.io/v1"))
        #expect(pinned.body.at("/kind") == .string("AdmissionReview"))
        #expect(pinned.uid == Fixtures.uid)
        #expect(pinned.body.at("/response/patchType") == .string("JSONPatch"))
        #expect(pinned.image("/spec/containers/0/image") == ExampleImages.web + "@" + digest("a"))

        let unchanged = try await server.review(try Fixtures.bytes(Fixtures.pinnedAlready))
        #expect(unchanged.allowed)
        #expect(unchanged.body.at("/response/patchType") == nil && unchanged.patch == nil)
        #expect(unchanged.uid == "7f6e5d4c-3b2a-4190-8f7e-6d5c4b3a2918")

        let validated = try await server.review(try Fixtures.bytes(Fixtures.podCreate), path: "/validate")
        #expect(validated.allowed == false)
        #expect(validated.body.at("/response/status/code") == .number(403))
        #expect(validated.body.at("/response/patch") == nil)
        await server.stop()
    }

    @Test("malformed and oversized reviews get 400/413 with a reason while good ones keep being answered")
    func badBodiesDoNotDisturbOthers() async throws {
        let server = try await Self.start(maxBodyBytes: 64 * 1024)
        let good = try Fixtures.bytes(Fixtures.podCreate)
        let oversized = try Fixtures.review(
            Fixtures.podCreate,
            edits: #"[{"op":"add","path":"/request/object/metadata/annotations/padding","value":"\#(String(repeating: "x", count: 100_000))"}]"#)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<30 {
                group.addTask {
                    switch i % 3 {
                    case 0:
                        let response = try await server.post(Array("{\"apiVersion\": \"admission.k8s.io/v1\", \"kind\": ".utf8))
                        #expect(response.status == 400)
                        #expect(String(decoding: response.body, as: UTF8.self).contains("malformed AdmissionReview"))
                    case 1:
                        let response = try await server.post(oversized)
                        #expect(response.status == 413)
                        #expect(!response.body.isEmpty)
                    default:
                        let answer = try await server.review(good)
                        #expect(answer.uid == Fixtures.uid)
                        #expect(answer.image("/spec/initContainers/1/image") == ExampleImages.shipper + "@" + digest("c"))
                    }
                }
            }
            try await group.waitForAll()
        }
        await server.stop()
    }
}
