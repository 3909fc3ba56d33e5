import Foundation
import KateAdmission
import KateKube
import KateNet
import KateRegistry
import KubeTestServer
import RegistryTestSupport
import Testing

/// The whole path with real parts: reviews POSTed over TLS to kate's server, tags resolved by
/// the real `Resolver` against the real `docker-registry` on loopback, pull secrets read from
/// the Kubernetes test API server. Every returned patch is applied to the exact request object
/// and each image compared with the digest the registry reported when the image was pushed.
@Suite("End to end: real registry, real TLS", .serialized)
struct RegistryEndToEndTests {
    /// The example pod's images, pointed at the loopback registry.
    static func localImages(_ host: String) -> (String) -> String {
        { image in
            if image.hasPrefix("registry.acme.example:5000/") { return host + "/" + image.dropFirst("registry.acme.example:5000/".count) }
            if image.hasPrefix("ghcr.io/") { return host + "/" + image.dropFirst("ghcr.io/".count) }
            if image == ExampleImages.shipper || image == ExampleImages.netshoot { return host + "/" + image }
            return image  // envoy and busybox are pinned already: kate must not ask any registry about them
        }
    }

    static func resolver(for registry: TestRegistry, cacheTTL: Duration = .seconds(300)) throws -> Resolver {
        Resolver(configuration: ResolverConfiguration(registries: [registry.host: registry.settings], cacheTTL: cacheTTL), logger: TestLogging.quiet)
    }

    struct Stack {
        let registry: TestRegistry
        let pinner: PodPinner
        let server: WebhookServer

        static func start(
            _ mode: TestRegistry.Mode = .plainHTTP, configuration: AdmissionConfiguration = AdmissionConfiguration(),
            keyrings: (any PodKeyringProviding)? = nil, cacheTTL: Duration = .seconds(300)
        ) async throws -> Stack {
            let registry = try await TestRegistry.start(mode)
            let pinner = PodPinner(
                configuration: configuration, resolver: try RegistryEndToEndTests.resolver(for: registry, cacheTTL: cacheTTL),
                keyrings: keyrings ?? StaticKeyringProvider(node: .empty))
            let server = try await WebhookServer.start(mutating: MutatingWebhook(pinner: pinner, logger: TestLogging.quiet))
            return Stack(registry: registry, pinner: pinner, server: server)
        }

        func stop() async {
            await server.stop()
            await registry.stop()
        }
    }

    @Test("a ReplicaSet pod with init, sidecar and pinned containers is pinned to the registry's digests")
    func pinsRealShapedPod() async throws {
        let stack = try await Stack.start()
        let host = stack.registry.host
        let web = try await stack.registry.push(repository: "shop/web", tag: "2.4.1")
        let migrate = try await stack.registry.push(repository: "acme/shop-migrate", tag: "v42")
        let shipper = try await stack.registry.push(repository: "fluent/fluent-bit", tag: "3.1")

        let review = try Fixtures.review(Fixtures.podCreate, images: Self.localImages(host))
        let answer = try await stack.server.review(review)
        #expect(answer.uid == Fixtures.uid)
        #expect(answer.image("/spec/containers/0/image") == "\(host)/shop/web:2.4.1@\(web)")
        #expect(answer.image("/spec/initContainers/0/image") == "\(host)/acme/shop-migrate:v42@\(migrate)")
        #expect(answer.image("/spec/initContainers/1/image") == "\(host)/fluent/fluent-bit:3.1@\(shipper)")
        #expect(answer.image("/spec/containers/1/image") == ExampleImages.envoyPinned)
        #expect(answer.warnings.isEmpty)

        // The same pod without annotations; then the pinned result again (no patch).
        let bare = try Fixtures.review(
            Fixtures.podCreate, edits: #"[{"op":"remove","path":"/request/object/metadata/annotations"}]"#, images: Self.localImages(host))
        let bareAnswer = try await stack.server.review(bare)
        #expect(bareAnswer.patched.at("/metadata/annotations/kate.dev~1original-images") != nil)
        let again = try await stack.server.review(try PinHarness.review(review, replacingObjectWith: answer.patched))
        #expect(again.patch == nil && again.allowed)
        await stack.stop()
    }

    @Test("an image volume (volumes[].image.reference) is pinned like a container, recorded as volume/<name>, and validated")
    func pinsImageVolume() async throws {
        let stack = try await Stack.start()
        let host = stack.registry.host
        _ = try await stack.registry.push(repository: "shop/web", tag: "2.4.1")
        _ = try await stack.registry.push(repository: "acme/shop-migrate", tag: "v42")
        _ = try await stack.registry.push(repository: "fluent/fluent-bit", tag: "3.1")
        let models = try await stack.registry.push(repository: "acme/models", tag: "2026-11")
        // A volume named like a container ("web"): the annotation keys must not collide.
        let edits = """
            [{"op":"add","path":"/request/object/spec/volumes/-","value":{"name":"web","image":{"reference":"\(host)/acme/models:2026-11","pullPolicy":"IfNotPresent"}}}]
            """
        let review = try Fixtures.review(Fixtures.podCreate, edits: edits, images: Self.localImages(host))
        let answer = try await stack.server.review(review)
        #expect(answer.image("/spec/volumes/2/image/reference") == "\(host)/acme/models:2026-11@\(models)")
        #expect(answer.patched.at("/spec/volumes/2/image/pullPolicy")?.stringValue == "IfNotPresent")
        #expect(answer.patched.at("/spec/volumes/0/name")?.stringValue == "cache", "other volumes untouched")
        let originals = try #require(answer.patched.at("/metadata/annotations/kate.dev~1original-images")?.stringValue)
        let recorded = try JSONDecoder().decode([String: String].self, from: Data(originals.utf8))
        #expect(recorded["volume/web"] == "\(host)/acme/models:2026-11")
        #expect(recorded["web"] == "\(host)/shop/web:2.4.1")
        #expect(answer.warnings.isEmpty)

        // The validating webhook names an unpinned image volume, and accepts the pinned result.
        let validator = ValidatingWebhook(policy: AdmissionConfiguration().policy, logger: TestLogging.quiet)
        let unpinned = validator.validate(try Fixtures.request(review))
        #expect(!unpinned.allowed)
        #expect(unpinned.denial?.message.contains("image volume web (\(host)/acme/models:2026-11)") == true)
        let pinnedReview = try PinHarness.review(review, replacingObjectWith: answer.patched)
        #expect(validator.validate(try Fixtures.request(pinnedReview)).allowed)
        // Idempotent: the pinned pod again yields no patch.
        let again = try await stack.server.review(pinnedReview)
        #expect(again.patch == nil && again.allowed)
        await stack.stop()
    }

    @Test("kubectl debug: only the new ephemeral container is pinned")
    func ephemeralContainers() async throws {
        let stack = try await Stack.start()
        let host = stack.registry.host
        let netshoot = try await stack.registry.push(repository: "nicolaka/netshoot", tag: "v0.13")
        let review = try Fixtures.review(Fixtures.ephemeralUpdate, images: Self.localImages(host))
        let answer = try await stack.server.review(review)
        #expect(answer.image("/spec/ephemeralContainers/1/image") == "\(host)/nicolaka/netshoot:v0.13@\(netshoot)")
        #expect(answer.image("/spec/ephemeralContainers/0/image") == (try Fixtures.object(review)).at("/spec/ephemeralContainers/0/image")?.stringValue)
        #expect(answer.patch?.arrayValue?.filter { $0["path"]?.stringValue?.hasSuffix("/image") == true }.count == 1)
        await stack.stop()
    }
}
