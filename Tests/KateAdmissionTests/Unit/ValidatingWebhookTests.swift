import Foundation
import KateAdmission
import KateRegistry
import Logging
import Testing

@Suite("Validating webhook (/validate)")
struct ValidatingWebhookTests {
    let webhook = ValidatingWebhook(policy: AdmissionPolicy(), logger: Logger(label: "test"))

    @Test("a pod with tags is denied, naming each unpinned container")
    func deniesTags() throws {
        let response = webhook.validate(try Fixtures.request(try Fixtures.bytes(Fixtures.podCreate)))
        #expect(response.allowed == false)
        let denial = try #require(response.denial)
        #expect(denial.code == 403)
        #expect(denial.message.contains("container web (\(ExampleImages.web))"))
        #expect(denial.message.contains("init container migrate"))
        #expect(denial.message.contains("init container log-shipper"))
        #expect(!denial.message.contains("envoy"))
        let wire = try JSONValue.parse(response.encode(version: .v1))
        #expect(wire.at("/response/patch") == nil && wire.at("/response/patchType") == nil)
    }

    @Test("a pinned pod, an exempt image and an opted-out pod are allowed")
    func allows() throws {
        #expect(webhook.validate(try Fixtures.request(try Fixtures.bytes(Fixtures.pinnedAlready))).allowed)
        let exempt = ValidatingWebhook(
            policy: AdmissionPolicy(excludeImages: [GlobPattern("ghcr.io/acme/*"), GlobPattern("fluent/*"), GlobPattern("registry.acme.example:5000/*")]),
            logger: Logger(label: "test"))
        #expect(exempt.validate(try Fixtures.request(try Fixtures.bytes(Fixtures.podCreate))).allowed)
        let skipped = try Fixtures.review(
            Fixtures.podCreate, edits: #"[{"op":"add","path":"/request/object/metadata/annotations/kate.dev~1skip","value":"true"}]"#)
        #expect(webhook.validate(try Fixtures.request(skipped)).allowed)
    }

    @Test("on UPDATE only introduced images count: a new unpinned ephemeral container is denied")
    func ephemeralUpdate() throws {
        let response = webhook.validate(try Fixtures.request(try Fixtures.bytes(Fixtures.ephemeralUpdate)))
        #expect(response.allowed == false)
        #expect(response.denial?.message.contains("ephemeral container debugger-p9x4c (nicolaka/netshoot:v0.13)") == true)
    }

    @Test("an invalid reference is denied with the parser's reason")
    func invalidReferenceKeepsItsReason() throws {
        let review = try Fixtures.review(
            Fixtures.podCreate, edits: #"[{"op":"replace","path":"/request/object/spec/containers/1/image","value":"Not A Valid:Image!"}]"#)
        let denial = try #require(webhook.validate(try Fixtures.request(review)).denial)
        let reason = try #require(ImageReferenceError.from("Not A Valid:Image!"))
        #expect(denial.message.contains("(Not A Valid:Image!: not a valid image reference: \(reason))"), "\(denial.message)")
    }
}
