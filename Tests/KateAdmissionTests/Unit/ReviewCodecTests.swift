import KateNet
import Foundation
import KateAdmission
import Testing

@Suite("AdmissionReview codec")
struct ReviewCodecTests {
    @Test("the example review decodes as the apiserver sent it")
    func decodesExample() throws {
        let review = try AdmissionReviewDecoder.decode(try Fixtures.bytes(Fixtures.podCreate))
        #expect(review.version == .v1)
        let request = review.request
        #expect(request.uid == Fixtures.uid)
        #expect(request.operation == "CREATE")
        #expect(request.isPod)
        #expect(request.dryRun == false)
        #expect(request.userName == "system:serviceaccount:kube-system:replicaset-controller")
        #expect(request.name == nil)
        #expect(request.podDisplayName == "web-7c5d8f9b6d-*")
        let pod = try #require(request.object)
        #expect(pod.spec.initContainers?.map(\.name) == ["migrate", "log-shipper"])
        #expect(pod.spec.initContainers?[1].isSidecar == true)
        #expect(request.oldObject == nil)
    }

    @Test("the answer echoes apiVersion, kind and uid, with patchType only next to a patch")
    func responseShape() throws {
        let noPatch = try JSONValue.parse(AdmissionResponse.allow("u-1").encode(version: .v1))
        #expect(noPatch.at("/apiVersion") == .string("admission.k8s.io/v1"))
        #expect(noPatch.at("/kind") == .string("AdmissionReview"))
        #expect(noPatch.at("/response/uid") == .string("u-1"))
        #expect(noPatch.at("/response/allowed") == .bool(true))
        #expect(noPatch.at("/response/patch") == nil)
        #expect(noPatch.at("/response/patchType") == nil)
        #expect(noPatch.at("/response/status") == nil)
        #expect(noPatch.at("/response/warnings") == nil)

        let ops: [PatchOperation] = [.replace("/spec/containers/0/image", .string("nginx:1.27@" + digest("a")))]
        let withPatch = try JSONValue.parse(AdmissionResponse(uid: "u-2", patch: ops).encode(version: .v1beta1))
        #expect(withPatch.at("/apiVersion") == .string("admission.k8s.io/v1beta1"))
        #expect(withPatch.at("/response/patchType") == .string("JSONPatch"))
        let base64 = try #require(withPatch.at("/response/patch")?.stringValue)
        let decoded = try #require(Data(base64Encoded: base64))
        let patch = try JSONValue.parse(Array(decoded))
        #expect(patch.at("/0/op") == .string("replace"))
        #expect(patch.at("/0/path") == .string("/spec/containers/0/image"))
        #expect(patch.at("/0/value") == .string("nginx:1.27@" + digest("a")))
    }

    @Test("a v1beta1 review is answered in v1beta1")
    func v1beta1() throws {
        let bytes = try Fixtures.review(Fixtures.podCreate, edits: #"[{"op":"replace","path":"/apiVersion","value":"admission.k8s.io/v1beta1"}]"#)
        #expect(try AdmissionReviewDecoder.decode(bytes).version == .v1beta1)
    }

    @Test("bodies that are not an AdmissionReview are rejected with a reason", arguments: [
        ("", "empty body"),
        ("{", "malformed AdmissionReview"),
        ("[1,2]", "malformed AdmissionReview"),
        (#"{"apiVersion":"admission.k8s.io/v1","kind":"Pod"}"#, "expected \"AdmissionReview\""),
        (#"{"apiVersion":"admission.k8s.io/v2","kind":"AdmissionReview","request":{}}"#, "not supported"),
        (#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#, "has no request"),
        (#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"kind":{"kind":"Pod"},"operation":"CREATE"}}"#, "missing field request.uid"),
        (#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"","kind":{"kind":"Pod"},"operation":"CREATE"}}"#, "request.uid is empty"),
    ])
    func malformed(body: String, expected: String) {
        #expect {
            _ = try AdmissionReviewDecoder.decode(Array(body.utf8))
        } throws: { error in
            (error as? ReviewDecodingError)?.description.contains(expected) == true
        }
    }

    @Test("a Pod kate cannot read is allowed untouched (validation will explain it), not a 400")
    func unreadablePod() async throws {
        let bytes = try Fixtures.review(Fixtures.podCreate, edits: #"[{"op":"remove","path":"/request/object/spec/containers/0/name"}]"#)
        let request = try Fixtures.request(bytes)
        #expect(request.object == nil)
        #expect(request.podDecodingProblem?.contains("name") == true)
        let result = try await PinHarness(resolver: ExampleImages.resolver()).run(bytes)
        #expect(result.response.allowed && result.response.patch.isEmpty)
    }

    @Test("JSON Pointer escaping: ~ before /")
    func pointerEscaping() {
        #expect(JSONPointer.escape("kate.dev/original-images") == "kate.dev~1original-images")
        #expect(JSONPointer.escape("a~/b") == "a~0~1b")
        #expect(JSONPointer.unescape("a~0~1b") == "a~/b")
        #expect(JSONPointer.path(["metadata", "annotations", "x/y~z"]) == "/metadata/annotations/x~1y~0z")
    }
}

@Suite("Durations, deadlines and patterns")
struct SupportTests {
    @Test("Go duration notation", arguments: [
        ("10s", Duration.seconds(10)), ("500ms", .milliseconds(500)), ("1m30s", .seconds(90)), ("1.5h", .seconds(5400)),
        ("24h", .seconds(86400)), ("0", .zero), ("250us", .microseconds(250)),
    ])
    func parses(text: String, expected: Duration) {
        #expect(GoDuration.parse(text) == expected)
    }

    @Test("invalid durations", arguments: ["", "10", "s", "10x", "-5s", "1e400s", "ten seconds", "10s5", "99999999999999999999s", "3000000h", "1..5s", "5 s"])
    func rejects(text: String) {
        #expect(GoDuration.parse(text) == nil)
    }

    @Test("the deadline is the timeout query minus the margin, capped by the server's deadline")
    func deadline() {
        let now = ContinuousClock.now
        let far = now + .seconds(60)
        #expect(AdmissionDeadline.compute(timeoutQuery: "10s", defaultTimeout: .seconds(30), margin: .seconds(1), now: now, serverDeadline: far) == now + .seconds(9))
        #expect(AdmissionDeadline.compute(timeoutQuery: nil, defaultTimeout: .seconds(5), margin: .seconds(1), now: now, serverDeadline: far) == now + .seconds(4))
        #expect(AdmissionDeadline.compute(timeoutQuery: "garbage", defaultTimeout: .seconds(5), margin: .milliseconds(500), now: now, serverDeadline: far) == now + .milliseconds(4500))
        #expect(AdmissionDeadline.compute(timeoutQuery: "1s", defaultTimeout: .seconds(5), margin: .seconds(2), now: now, serverDeadline: far) == now + .milliseconds(500))
        #expect(AdmissionDeadline.compute(timeoutQuery: "30s", defaultTimeout: .seconds(5), margin: .seconds(1), now: now, serverDeadline: now + .seconds(3)) == now + .seconds(3))
    }

    @Test("glob patterns", arguments: [
        ("ghcr.io/acme/*", "ghcr.io/acme/team/app:1", true), ("ghcr.io/acme/*", "ghcr.io/other/app", false),
        ("nginx:1.2?", "nginx:1.27", true), ("*:latest", "busybox:latest", true), ("*:latest", "busybox:1", false),
        ("exact", "exact", true), ("exact", "exactly", false), ("a*b*c", "aXbYbZc", true), ("", "", true),
    ])
    func globs(pattern: String, text: String, matches: Bool) {
        #expect(GlobPattern(pattern).matches(text) == matches)
    }
}
