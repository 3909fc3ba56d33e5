import Foundation
import KateAdmission
import KateRegistry
import Testing

@Suite("Pinning a Pod CREATE")
struct PodPinnerCreateTests {
    @Test("every container, init container and sidecar is pinned, keeping the user's spelling")
    func pinsAllContainerKinds() async throws {
        let harness = PinHarness(resolver: ExampleImages.resolver())
        let result = try await harness.run(try Fixtures.bytes(Fixtures.podCreate))

        #expect(result.report.outcome == .pinned)
        #expect(result.report.pinnedImages == 3)
        #expect(result.image("/spec/containers/0/image") == ExampleImages.web + "@" + digest("a"))
        #expect(result.image("/spec/initContainers/0/image") == ExampleImages.migrate + "@" + digest("b"))
        #expect(result.image("/spec/initContainers/1/image") == ExampleImages.shipper + "@" + digest("c"))
        #expect(result.image("/spec/containers/1/image") == ExampleImages.envoyPinned)
        #expect(result.originalImages == ["web": ExampleImages.web, "migrate": ExampleImages.migrate, "log-shipper": ExampleImages.shipper])
        let stamp = try #require(result.patched.at("/metadata/annotations/kate.dev~1resolved-at")?.stringValue)
        #expect((try? Date(stamp, strategy: .iso8601)) != nil)
        // The pod's own annotations survive.
        #expect(result.patched.at("/metadata/annotations/prometheus.io~1port")?.stringValue == "9090")
        #expect(result.response.warnings.isEmpty)
        #expect(result.response.allowed)
    }

    @Test("a second pass over the pinned pod yields no patch (reinvocationPolicy IfNeeded)")
    func idempotent() async throws {
        let harness = PinHarness(resolver: ExampleImages.resolver())
        let review = try Fixtures.bytes(Fixtures.podCreate)
        let first = try await harness.run(review)
        let again = try await harness.run(try PinHarness.review(review, replacingObjectWith: first.patched))
        #expect(again.response.patch.isEmpty)
        #expect(again.report.outcome == .unchanged)
    }

    @Test("cached tags are pinned without a lookup; only the misses are looked up")
    func cachedTagsSkipTheLookup() async throws {
        let resolver = ExampleImages.resolver()
        resolver.setCached(digest("e"), for: ExampleImages.web)
        resolver.setCached(digest("f"), for: ExampleImages.shipper)
        let harness = PinHarness(resolver: resolver)
        let result = try await harness.run(try Fixtures.bytes(Fixtures.podCreate))
        #expect(result.image("/spec/containers/0/image") == ExampleImages.web + "@" + digest("e"))
        #expect(result.image("/spec/initContainers/1/image") == ExampleImages.shipper + "@" + digest("f"))
        #expect(result.image("/spec/initContainers/0/image") == ExampleImages.migrate + "@" + digest("b"))
        #expect(resolver.lookups == [FakeResolver.key(ExampleImages.migrate)])
    }

    @Test("a Pod without metadata (absent or null) is allowed without a patch: no op could apply", arguments: [
        #"[{"op":"remove","path":"/request/object/metadata"}]"#,
        #"[{"op":"replace","path":"/request/object/metadata","value":null}]"#,
    ])
    func podWithoutMetadata(edit: String) async throws {
        let harness = PinHarness(resolver: ExampleImages.resolver())
        let result = try await harness.run(try Fixtures.review(Fixtures.podCreate, edits: edit))
        #expect(result.response.allowed)
        #expect(result.response.patch.isEmpty)
        #expect(harness.resolver.lookups.isEmpty)
    }

    @Test("a pod pinned already is left alone without asking the registry")
    func pinnedAlready() async throws {
        let harness = PinHarness(resolver: ExampleImages.resolver())
        let result = try await harness.run(try Fixtures.bytes(Fixtures.pinnedAlready))
        #expect(result.response.patch.isEmpty)
        #expect(result.report.outcome == .unchanged)
        #expect(harness.resolver.lookups.isEmpty)
    }

    @Test("a pod without annotations gets the whole map added")
    func noAnnotations() async throws {
        let harness = PinHarness(resolver: ExampleImages.resolver())
        let review = try Fixtures.review(Fixtures.podCreate, edits: #"[{"op":"remove","path":"/request/object/metadata/annotations"}]"#)
        let result = try await harness.run(review)
        #expect(result.response.patch.contains { $0.path == "/metadata/annotations" && $0.op == .add })
        #expect(result.originalImages?.count == 3)
        #expect(result.image("/spec/containers/0/image") == ExampleImages.web + "@" + digest("a"))
    }

    @Test("an empty annotation map gets escaped per-key adds")
    func emptyAnnotations() async throws {
        let harness = PinHarness(resolver: ExampleImages.resolver())
        let review = try Fixtures.review(Fixtures.podCreate, edits: #"[{"op":"replace","path":"/request/object/metadata/annotations","value":{}}]"#)
        let result = try await harness.run(review)
        let paths = result.response.patch.map(\.path)
        #expect(paths.contains("/metadata/annotations/kate.dev~1original-images"))
        #expect(paths.contains("/metadata/annotations/kate.dev~1resolved-at"))
        #expect(result.originalImages?.count == 3)
    }

    @Test("the same tag in two containers is looked up once and pinned in both")
    func sharedImage() async throws {
        let harness = PinHarness(resolver: ExampleImages.resolver())
        let review = try Fixtures.review(
            Fixtures.podCreate, edits: #"[{"op":"replace","path":"/request/object/spec/containers/1/image","value":"registry.acme.example:5000/shop/web:2.4.1"}]"#)
        let result = try await harness.run(review)
        #expect(result.image("/spec/containers/1/image") == ExampleImages.web + "@" + digest("a"))
        #expect(harness.resolver.lookups.filter { $0.hasSuffix("shop/web:2.4.1") }.count == 1)
    }

    @Test("an unparseable image is left as is with a warning; the others are pinned")
    func invalidImage() async throws {
        let harness = PinHarness(resolver: ExampleImages.resolver())
        let review = try Fixtures.review(
            Fixtures.podCreate, edits: #"[{"op":"replace","path":"/request/object/spec/containers/1/image","value":"Not A Valid:Image!"}]"#)
        let result = try await harness.run(review)
        #expect(result.image("/spec/containers/1/image") == "Not A Valid:Image!")
        #expect(result.response.warnings.contains { $0.contains("not a valid image reference") })
        // The reason survives into the warning, so the user sees what to fix.
        let reason = try #require(ImageReferenceError.from("Not A Valid:Image!"))
        #expect(result.response.warnings.contains { $0.contains("not a valid image reference (\(reason)); left as is") }, "\(result.response.warnings)")
        #expect(result.report.pinnedImages == 3)
    }

    @Test("kinds other than Pod and other operations are allowed untouched")
    func notApplicable() async throws {
        let harness = PinHarness(resolver: ExampleImages.resolver())
        let deployment = try Fixtures.review(
            Fixtures.podCreate, edits: #"[{"op":"replace","path":"/request/kind","value":{"group":"apps","version":"v1","kind":"Deployment"}}]"#)
        let a = try await harness.run(deployment)
        #expect(a.response.patch.isEmpty && a.response.allowed && a.report.outcome == .skipped)
        let update = try Fixtures.review(Fixtures.podCreate, edits: #"[{"op":"replace","path":"/request/operation","value":"UPDATE"}]"#)
        let b = try await harness.run(update)
        #expect(b.response.patch.isEmpty && b.response.allowed)
        let delete = try Fixtures.review(
            Fixtures.podCreate,
            edits: #"[{"op":"replace","path":"/request/operation","value":"DELETE"},{"op":"replace","path":"/request/object","value":null}]"#)
        let c = try await harness.run(delete)
        #expect(c.response.patch.isEmpty && c.response.allowed)
        #expect(harness.resolver.lookups.isEmpty)
    }
}

@Suite("Pinning ephemeral containers (kubectl debug)")
struct PodPinnerEphemeralTests {
    @Test("only the new ephemeral container is pinned and the annotation is merged")
    func onlyNewEphemeral() async throws {
        let harness = PinHarness(resolver: ExampleImages.resolver())
        let result = try await harness.run(try Fixtures.bytes(Fixtures.ephemeralUpdate))
        #expect(result.report.outcome == .pinned)
        #expect(result.response.patch.filter { $0.path.hasSuffix("/image") }.map(\.path) == ["/spec/ephemeralContainers/1/image"])
        #expect(result.image("/spec/ephemeralContainers/1/image") == ExampleImages.netshoot + "@" + digest("d"))
        #expect(harness.resolver.lookups == [FakeResolver.key(ExampleImages.netshoot)])
        let originals = try #require(result.originalImages)
        #expect(originals["debugger-p9x4c"] == ExampleImages.netshoot)
        #expect(originals["debugger-7hk2w"] == "busybox:1.36")
        #expect(originals["web"] == ExampleImages.web)
    }

    @Test("an ephemeralcontainers UPDATE adding nothing new is left alone")
    func nothingNew() async throws {
        let harness = PinHarness(resolver: ExampleImages.resolver())
        let review = try Fixtures.review(Fixtures.ephemeralUpdate, edits: #"[{"op":"remove","path":"/request/object/spec/ephemeralContainers/1"}]"#)
        let result = try await harness.run(review)
        #expect(result.response.patch.isEmpty)
        #expect(harness.resolver.lookups.isEmpty)
    }
}

extension ImageReferenceError {
    /// The reason the parser gives for `image`, or nil when it parses.
    static func from(_ image: String) -> String? {
        do {
            _ = try ImageReference.parse(image)
            return nil
        } catch {
            return (error as? ImageReferenceError)?.reason
        }
    }
}
