import Foundation
import KateKube
import KateRegistry
import KubeTestServer
import Logging
import Testing
@testable import KateSweeper

/// Issue #17: two webhook replicas run a `PushSweepRunner` each against one API server. Only the
/// Lease holder sweeps a push; when it dies without releasing the Lease, the other takes over only
/// after the Lease expired, and no push is swept twice. Assertions are on the API server's write
/// log and the Deployments' `restartedAt`, not on logs.
@Suite("push sweep leader failover", .serialized)
struct PushSweepFailoverTests {
    static let running = Fixtures.digest("a")
    static let pushed = Fixtures.digest("b")
    /// client-go's proportions, shortened so a failover takes about a second.
    static let timing = LeaderElector.Timing(leaseDuration: .seconds(1), renewDeadline: .milliseconds(600), retryPeriod: .milliseconds(150))
    static let restartedAt = "kubectl.kubernetes.io/restartedAt"

    /// A Deployment → ReplicaSet → 2 Pods running `registry.local/<app>:<tag>` at `running`.
    static func owner(_ app: String, tag: String) -> [[String: Any]] {
        let image = "registry.local/\(app):\(tag)"
        let rs = "\(app)-5d8f7c"
        return [
            Fixtures.deployment(name: app, uid: "\(app)-dep-uid", image: image, replicas: 2),
            Fixtures.replicaSet(name: rs, uid: "\(app)-rs-uid", deployment: .init(kind: "Deployment", name: app, uid: "\(app)-dep-uid"), image: image, hash: "5d8f7c"),
        ] + (0..<2).map { index in
            Fixtures.pod(
                name: "\(rs)-\(index)", owner: .init(kind: "ReplicaSet", name: rs, uid: "\(app)-rs-uid"), labels: ["app": app, "pod-template-hash": "5d8f7c"],
                containers: [.init(name: "app", image: image, imageID: "registry.local/\(app)@\(running)")])
        }
    }

    /// One webhook replica's push sweeper: its own API client (own credentials), as in `kate webhook`.
    struct Replica {
        let identity: String
        let client: KubeClient
        let runner: PushSweepRunner

        init(_ identity: String, server: KubeTestServer, token: String?, resolver: any TagResolving) {
            var configuration = server.clientConfiguration
            if let token { configuration.auth = .token(token) }
            let logger = Logger(label: "kate.push-sweep.\(identity)")
            self.identity = identity
            client = KubeClient(configuration: configuration, fieldManager: "kate-push-sweeper", logger: logger)
            let sweeper = PushSweeper(Sweeper(
                cluster: client, resolver: resolver,
                configuration: SweeperConfiguration(policy: ActionPolicy(action: .rollout), resolveTimeout: .seconds(10)), logger: logger))
            let elector = LeaderElector(client: client, namespace: "kate", name: PushSweepRunner.lease, identity: identity, timing: PushSweepFailoverTests.timing)
            runner = PushSweepRunner(elector: elector, sweeper: sweeper, logger: logger, campaignPause: .milliseconds(100))
        }
    }

    static func lease(_ server: KubeTestServer) -> Lease? {
        server.object(.leases, namespace: "kate", name: PushSweepRunner.lease, as: Lease.self)
    }

    /// The restart PATCHes of `deployment`, in order (the rollout-restart write).
    static func restarts(_ server: KubeTestServer, _ deployment: String) -> [RecordedCall] {
        server.recordedCalls.filter { $0.method == "PATCH" && $0.path == "/apis/apps/v1/namespaces/default/deployments/\(deployment)" }
    }

    /// Events the sweeps posted about `deployment`'s pods, by reason: one per sweep that judged them.
    static func eventReasons(_ server: KubeTestServer, _ deployment: String) -> [String] {
        server.recordedCalls.filter { $0.method == "POST" && $0.path.hasSuffix("/events") && $0.bodyText.contains("\(deployment)-5d8f7c") }
            .compactMap { $0.bodyJSON?["reason"]?.stringValue }
    }

    static func waitUntil(within timeout: Duration = .seconds(10), _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            if ContinuousClock.now >= deadline { throw FailoverTestError.timedOut }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    enum FailoverTestError: Error { case timedOut }

    @Test("a push reaching both replicas is swept once, by the leader; after the leader dies without releasing, the other leads only once the Lease expired and sweeps the next push once")
    func failoverAfterLeaderCrash() async throws {
        let server = try await KubeTestServer.start()
        do {
            try await Self.crashAndTakeOver(server)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    static func crashAndTakeOver(_ server: KubeTestServer) async throws {
        for object in Self.owner("web", tag: "1") + Self.owner("db", tag: "3") + Self.owner("api", tag: "2") {
            _ = try server.put(try Fixtures.bytes(object))
        }
        let resolver = TableResolver([
            "registry.local/web:1": .init(digest: Self.pushed), "registry.local/db:3": .init(digest: Self.pushed),
            "registry.local/api:2": .init(digest: Self.pushed),
        ])
        server.addToken("token-a")
        let a = Replica("kate-a", server: server, token: "token-a", resolver: resolver)
        let b = Replica("kate-b", server: server, token: nil, resolver: resolver)
        let replicas = [a, b]
        let runA = Task { await a.runner.run() }
        try await Self.waitUntil { a.runner.isLeading }
        let runB = Task { await b.runner.run() }
        defer {
            runA.cancel()
            runB.cancel()
        }

        try await Task.sleep(for: .milliseconds(400))
        #expect(Self.lease(server)?.spec?.holderIdentity == "kate-a" && !b.runner.isLeading, "a renewed Lease is not taken")

        // 1. A push arrives at both replicas: the leader sweeps it, the other does not.
        let web = try ImageReference.parse("registry.local/web:1")
        for replica in replicas { replica.runner.trigger(web) }
        try await Self.waitUntil { !Self.restarts(server, "web").isEmpty }
        try await Task.sleep(for: .milliseconds(500))  // room for a second sweep, were there one
        let webRestarts = Self.restarts(server, "web")
        #expect(webRestarts.count == 1, "one rollout restart of web, got \(webRestarts.count)")
        #expect(webRestarts.first?.bearerToken == "token-a", "the leader restarted it")
        #expect(webRestarts.first?.bodyText.contains(Self.restartedAt) == true)
        #expect(Self.eventReasons(server, "web") == ["StaleImageRestarted"], "exactly one sweep judged web's pods")
        let restartedWeb = server.object(.deployments, namespace: "default", name: "web", as: Deployment.self)
        #expect(restartedWeb?.spec?.template?.metadata?.annotations?[Self.restartedAt] != nil)

        // 2. The leader dies without releasing: it is cut off from the API server (its release
        //    write is rejected) and its task ends, as a killed pod's would.
        let held = try #require(Self.lease(server))
        let lastRenewal = try #require(held.spec?.renewDate)
        let crashed = ContinuousClock.now
        server.revokeToken("token-a")
        runA.cancel()
        await runA.value
        #expect(!a.runner.isLeading)
        #expect(Self.lease(server)?.spec?.holderIdentity == "kate-a", "no release was written: the Lease is still kate-a's")

        // 3. A push during the handover: nobody leads, so it is left to the scheduled sweep, never swept twice.
        let db = try ImageReference.parse("registry.local/db:3")
        for replica in replicas { replica.runner.trigger(db) }

        // 4. kate-b takes the Lease, but not before it expired (kate-b's own clock, from the last renewal it saw).
        var holders: [String] = []
        try await Self.waitUntil {
            let holder = Self.lease(server)?.spec?.holderIdentity ?? "<none>"
            if holders.last != holder { holders.append(holder) }
            return holder == "kate-b"
        }
        let tookOver = ContinuousClock.now
        #expect(holders == ["kate-a", "kate-b"], "the Lease went from kate-a straight to kate-b: \(holders)")
        let taken = try #require(Self.lease(server))
        let acquired = try #require(taken.spec?.acquireDate)
        #expect(acquired.timeIntervalSince(lastRenewal) >= 0.95, "kate-b took the Lease \(acquired.timeIntervalSince(lastRenewal)) s after kate-a's last renewal; it lasts 1 s")
        // (A wall-clock bound from `crashed` would depend on how long kate-a's last renewal took on a loaded machine;
        // the Lease's own stamps do not.)
        #expect(tookOver - crashed < .seconds(10))
        #expect(taken.spec?.leaseTransitions == 1)
        try await Self.waitUntil { b.runner.isLeading }

        // 5. The next push is swept once, by the new leader.
        let api = try ImageReference.parse("registry.local/api:2")
        for replica in replicas { replica.runner.trigger(api) }
        try await Self.waitUntil { !Self.restarts(server, "api").isEmpty }
        try await Task.sleep(for: .milliseconds(500))
        let apiRestarts = Self.restarts(server, "api")
        #expect(apiRestarts.count == 1, "one rollout restart of api, got \(apiRestarts.count)")
        #expect(apiRestarts.first.map { $0.bearerToken != "token-a" && $0.user != nil } == true, "the new leader restarted it")
        #expect(Self.eventReasons(server, "api") == ["StaleImageRestarted"])
        #expect(server.object(.deployments, namespace: "default", name: "api", as: Deployment.self)?.spec?.template?.metadata?.annotations?[Self.restartedAt] != nil)

        // Nothing was swept twice across the handover.
        #expect(Self.restarts(server, "web").count == 1, "the new leader did not sweep web again")
        #expect(Self.eventReasons(server, "web").count == 1)
        #expect(Self.restarts(server, "db").count <= 1 && Self.eventReasons(server, "db").count <= 1)

        runB.cancel()
        await runB.value
        #expect(Self.lease(server)?.spec?.holderIdentity == "", "the surviving leader releases on a clean stop")
        for replica in replicas { await replica.client.shutdown() }
    }
}
