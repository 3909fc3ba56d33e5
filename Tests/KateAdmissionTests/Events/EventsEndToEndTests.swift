import Foundation
@testable import KateAdmission
import KateContract
import KateKube
import KateNet
import KateRegistry
import KubeTestServer
import Logging
import RegistryTestSupport
import Testing

/// Push-triggered re-resolve with real parts: the real `docker-registry`, the real `Resolver`,
/// the webhook over TLS, the events receiver on a TLS listener of its own, and the digest ledger
/// in the test API server followed by each replica's watch.
@Suite("registry events end to end", .serialized)
struct EventsEndToEndTests {
    static let token = "e2e-token"

    /// One webhook replica: its own resolver (cache TTL 5 minutes, so only an invalidation makes
    /// it ask again), `/mutate` over TLS, and a ledger reader that drops cached tags that moved.
    struct Replica {
        let resolver: Resolver
        let webhook: WebhookServer
        let reader: DigestLedgerReader
        let client: KubeClient
        let follow: Task<Void, Never>

        static func start(registry: TestRegistry, api: KubeTestServer) async throws -> Replica {
            let resolver = Resolver(
                configuration: ResolverConfiguration(registries: [registry.host: registry.settings], cacheTTL: .seconds(300)), logger: TestLogging.quiet)
            let pinner = PodPinner(configuration: AdmissionConfiguration(), resolver: resolver, keyrings: StaticKeyringProvider(node: .empty))
            let webhook = try await WebhookServer.start(mutating: MutatingWebhook(pinner: pinner, logger: TestLogging.quiet))
            let client = KubeClient(configuration: api.clientConfiguration, logger: TestLogging.quiet)
            let invalidation = LedgerCacheInvalidation(resolver: resolver, logger: TestLogging.quiet)
            let reader = DigestLedgerReader(client: client, namespace: "kate") { reference, newest in
                invalidation.tagChanged(reference: reference, newestDigest: newest)
            }
            let follow = Task { _ = try? await reader.run() }
            return Replica(resolver: resolver, webhook: webhook, reader: reader, client: client, follow: follow)
        }

        /// The image `/mutate` writes for a bare pod running `image`.
        func pinnedImage(_ image: String) async throws -> String? {
            try await webhook.review(EventsEndToEndTests.review(image)).image("/spec/containers/0/image")
        }

        func stop() async {
            follow.cancel()
            await follow.value
            await webhook.stop()
            await client.shutdown()
            await resolver.shutdown()
        }
    }

    /// A CREATE review of a pod with no owner (no revision memory applies) running `image`.
    static func review(_ image: String) -> [UInt8] {
        let review: [String: Any] = [
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": [
                "uid": UUID().uuidString.lowercased(), "kind": ["group": "", "version": "v1", "kind": "Pod"],
                "resource": ["group": "", "version": "v1", "resource": "pods"], "namespace": "default", "operation": "CREATE",
                "userInfo": ["username": "e2e"], "dryRun": false,
                "object": ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": "demo", "namespace": "default"],
                           "spec": ["containers": [["name": "app", "image": image]]]],
            ],
        ]
        return Array((try? JSONSerialization.data(withJSONObject: review)) ?? Data())
    }

    /// The captured docker-registry notification, pointed at this push (host, repository, tag,
    /// digest, a fresh event id): the shape is the real registry's, the values this test's.
    static func distributionEvent(host: String, repository: String, tag: String, digest: String) throws -> [UInt8] {
        var envelope = try EventFixtures.object("distribution-push.json")
        var event = (envelope["events"] as? [[String: Any]] ?? [])[0]
        var target = event["target"] as? [String: Any] ?? [:]
        target["repository"] = repository
        target["tag"] = tag
        target["digest"] = digest
        target["url"] = "http://\(host)/v2/\(repository)/manifests/\(digest)"
        var request = event["request"] as? [String: Any] ?? [:]
        request["host"] = host
        event["target"] = target
        event["request"] = request
        event["id"] = UUID().uuidString.lowercased()
        envelope["events"] = [event]
        return try EventFixtures.encode(envelope)
    }

    @Test("two replicas: a push posted to one re-resolves there at once, and the other pins the new digest within 1 s")
    func twoReplicas() async throws {
        let registry = try await TestRegistry.start()
        let api = try await KubeTestServer.start(logger: TestLogging.quiet)
        let a = try await Replica.start(registry: registry, api: api)
        let b = try await Replica.start(registry: registry, api: api)
        let ledgerClient = KubeClient(configuration: api.clientConfiguration, logger: TestLogging.quiet)
        let ledger = DigestLedger(client: ledgerClient, namespace: "kate")
        let events = try await WebhookServer.events(
            RegistryEventsReceiver(
                authentication: EventAuthentication(token: Self.token, hmacSecret: nil)!,
                refresher: TagRefresher(resolver: a.resolver, keyring: .empty, ledger: ledger), logger: TestLogging.quiet))

        let image = "\(registry.host)/kate/demo:v1"
        let first = try await registry.push(repository: "kate/demo", tag: "v1")
        #expect(try await a.pinnedImage(image) == "\(image)@\(first)")
        #expect(try await b.pinnedImage(image) == "\(image)@\(first)")
        try await Self.waitUntil { a.reader.isSynced && b.reader.isSynced }

        // The tag moves. Without a notification both replicas would pin `first` for 5 minutes.
        let second = try await registry.push(repository: "kate/demo", tag: "v1")
        #expect(try await b.pinnedImage(image) == "\(image)@\(first)", "the cache holds the old digest until told")
        let response = try await events.postEvent(
            try Self.distributionEvent(host: registry.host, repository: "kate/demo", tag: "v1", digest: second),
            headers: ["Authorization": "Bearer \(Self.token)", "Content-Type": DistributionNotifications.mediaType])
        let posted = ContinuousClock.now
        #expect(response.status == 200, "\(String(decoding: response.body, as: UTF8.self))")
        #expect(try await a.pinnedImage(image) == "\(image)@\(second)", "the replica that got the push pins it at once")

        var pinnedByB: String?
        while ContinuousClock.now - posted < .seconds(1) {
            pinnedByB = try await b.pinnedImage(image)
            if pinnedByB == "\(image)@\(second)" { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        let reachedB = ContinuousClock.now - posted
        #expect(pinnedByB == "\(image)@\(second)")
        #expect(reachedB < .seconds(1), "replica B pinned the pushed digest after \(reachedB)")
        #expect(try await ledger.history(of: "\(registry.host)/kate/demo:v1")?.spec.digests.first?.digest == second)

        await events.stop()
        await a.stop()
        await b.stop()
        await ledgerClient.shutdown()
        await api.stop()
        await registry.stop()
    }

    @Test("Resolver.invalidate drops a cached tag: the next resolve asks the registry")
    func invalidate() async throws {
        let registry = try await TestRegistry.start()
        let resolver = Resolver(
            configuration: ResolverConfiguration(registries: [registry.host: registry.settings], cacheTTL: .seconds(300)), logger: TestLogging.quiet)
        let reference = try ImageReference.parse("\(registry.host)/kate/cache:v1")
        let first = try await registry.push(repository: "kate/cache", tag: "v1")
        #expect(try await resolver.resolve(reference, deadline: .now + .seconds(10)).digest == first)
        let second = try await registry.push(repository: "kate/cache", tag: "v1")
        #expect(try await resolver.resolve(reference, deadline: .now + .seconds(10)).digest == first, "cached")
        resolver.invalidate(reference)
        #expect(resolver.cached(reference) == nil)
        #expect(try await resolver.resolve(reference, deadline: .now + .seconds(10)).digest == second)
        await resolver.shutdown()
        await registry.stop()
    }

    @Test("distribution notifies before it moves the tag: the refresher waits (bounded) for the payload's digest")
    func catchesUpWithTheTag() async throws {
        let registry = try await TestRegistry.start()
        let resolver = Resolver(
            configuration: ResolverConfiguration(registries: [registry.host: registry.settings], cacheTTL: .seconds(300)), logger: TestLogging.quiet)
        let old = try await registry.push(repository: "kate/race", tag: "v1")
        let pushed = try await registry.push(repository: "kate/race", tag: "next")
        let push = try #require(try RegistryEventFormats.parse(.event(
            try Self.distributionEvent(host: registry.host, repository: "kate/race", tag: "v1", digest: pushed))).pushes.first)
        let refresher = TagRefresher(resolver: resolver, keyring: .empty, ledger: nil)

        // The tag moves 300 ms after the notification, as when the event outruns the tag link.
        let retag = Task {
            try await Task.sleep(for: .milliseconds(300))
            try await Self.copyTag(registry: registry, repository: "kate/race", from: "next", to: "v1")
        }
        let started = ContinuousClock.now
        let digest = try await refresher.refresh(push, deadline: .now + .seconds(10))
        try await retag.value
        #expect(digest == pushed)
        #expect(digest != old)
        #expect(ContinuousClock.now - started >= .milliseconds(300))

        // A payload digest the tag never names: the registry's answer stands after the catch-up window.
        var stray = push
        stray.digest = "sha256:" + String(repeating: "0", count: 64)
        var quick = refresher
        quick.catchUp = .milliseconds(300)
        let strayStart = ContinuousClock.now
        #expect(try await quick.refresh(stray, deadline: .now + .seconds(10)) == pushed)
        #expect(ContinuousClock.now - strayStart < .seconds(2))
        await resolver.shutdown()
        await registry.stop()
    }

    /// PUTs the manifest `from` names under `to` (a retag, as `crane tag` does).
    static func copyTag(registry: TestRegistry, repository: String, from: String, to: String) async throws {
        let client = HTTPClient(configuration: .init(), logger: TestLogging.quiet)
        let accept = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"
        let manifest = try await client.execute(
            HTTPClientRequest(method: "GET", url: "\(registry.baseURL)/v2/\(repository)/manifests/\(from)", headers: ["Accept": accept]),
            deadline: .now + .seconds(10))
        let type = manifest.headers["Content-Type"] ?? "application/vnd.docker.distribution.manifest.v2+json"
        let put = try await client.execute(
            HTTPClientRequest(method: "PUT", url: "\(registry.baseURL)/v2/\(repository)/manifests/\(to)", headers: ["Content-Type": type], body: manifest.body),
            deadline: .now + .seconds(10))
        await client.shutdown()
        guard put.status == 201 else { throw RecordingRefresher.Failure(description: "retag answered \(put.status)") }
    }

    static func waitUntil(within timeout: Duration = .seconds(10), _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else { throw RecordingRefresher.Failure(description: "condition not met within \(timeout)") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

extension WebhookServer {
    /// The events receiver on a TLS listener of its own, as `kate webhook --events-listen` serves it.
    static func events(_ receiver: RegistryEventsReceiver) async throws -> WebhookServer {
        var router = Router()
        router.add("POST", RegistryEventsReceiver.path, receiver)
        return try await start(router: router, maxBodyBytes: 1 << 20)
    }

    func postEvent(_ body: [UInt8], headers: HTTPHeaders) async throws -> HTTPClientResponse {
        try await client.execute(
            HTTPClientRequest(method: "POST", url: "https://127.0.0.1:\(port)\(RegistryEventsReceiver.path)", headers: headers, body: body),
            deadline: .now + .seconds(30))
    }
}
