import Foundation
import KateKube
import KateNet
import KubeTestServer
import Testing

/// `KubeWatch` against the test API server's watch: list then events, resume after a dropped
/// connection and after the server ends a watch, relist on 410 (event or HTTP), bookmarks,
/// cancellation, RBAC.
@Suite("Kubernetes watch")
struct WatchTests {
    private static func addPod(_ server: KubeTestServer, _ name: String, labels: [String: String] = ["app": "w"]) throws {
        var options = PodOptions()
        options.labels = labels
        try server.addPod(namespace: "w", name: name, containers: [TestContainer(name: "c", image: "nginx:1.27")], options: options)
    }

    /// Changes `name`'s labels through the store (a MODIFIED event).
    private static func relabel(_ server: KubeTestServer, _ name: String, _ labels: [String: String]) throws {
        guard var object = server.object(.pods, namespace: "w", name: name) else { throw WatchTestError.missing(name) }
        object[path: ["metadata", "labels"]] = .object(labels.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })
        try server.put(object)
    }

    private static func name(_ event: WatchEvent<Pod>?) -> String {
        switch event {
        case .listed(let pods, _): "listed:" + pods.map { $0.metadata.name ?? "" }.joined(separator: ",")
        case .added(let pod): "added:" + (pod.metadata.name ?? "")
        case .modified(let pod): "modified:" + (pod.metadata.name ?? "")
        case .deleted(let pod): "deleted:" + (pod.metadata.name ?? "")
        case .bookmark: "bookmark"
        case nil: "end"
        }
    }

    private static func watchCalls(_ server: KubeTestServer) -> [RecordedCall] {
        server.recordedCalls.filter { $0.path == "/api/v1/namespaces/w/pods" && ($0.query ?? "").contains("watch=true") }
    }

    private static func queryValue(_ call: RecordedCall, _ name: String) -> String? {
        (call.query ?? "").split(separator: "&").compactMap { pair -> String? in
            let parts = pair.split(separator: "=", maxSplits: 1)
            return parts.first.map(String.init) == name && parts.count == 2 ? String(parts[1]) : nil
        }.first
    }

    @Test("lists first, then delivers ADDED, MODIFIED and DELETED in commit order, asking for bookmarks")
    func listThenEvents() async throws {
        try await withServer { server in
            try Self.addPod(server, "before")
            let client = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            var events = client.watchPods(namespace: "w").makeAsyncIterator()
            let first = try await events.next()
            #expect(Self.name(first) == "listed:before")
            guard case .listed(_, let listVersion) = first else { return }
            try Self.addPod(server, "new")
            try Self.relabel(server, "new", ["app": "w", "step": "2"])
            #expect(server.remove(.pods, namespace: "w", name: "new"))
            #expect(Self.name(try await events.next()) == "added:new")
            let modified = try await events.next()
            #expect(Self.name(modified) == "modified:new")
            if case .modified(let pod) = modified { #expect(pod.metadata.labels?["step"] == "2") }
            #expect(Self.name(try await events.next()) == "deleted:new")
            let watch = try #require(Self.watchCalls(server).first)
            #expect(Self.queryValue(watch, "resourceVersion") == listVersion)
            #expect(Self.queryValue(watch, "allowWatchBookmarks") == "true")
            await client.shutdown()
        }
    }

    @Test("a dropped connection resumes from the last resourceVersion: no event lost, none repeated, no relist")
    func resumeAfterDrop() async throws {
        try await withServer { server in
            let client = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            var events = client.watchPods(namespace: "w").makeAsyncIterator()
            #expect(Self.name(try await events.next()) == "listed:")
            try Self.addPod(server, "one")
            let added = try await events.next()
            #expect(Self.name(added) == "added:one")
            guard case .added(let one) = added else { return }
            server.dropWatches()
            try Self.addPod(server, "two")
            #expect(Self.name(try await events.next()) == "added:two")
            let watches = Self.watchCalls(server)
            #expect(watches.count == 2)
            #expect(watches.last.flatMap { Self.queryValue($0, "resourceVersion") } == one.metadata.resourceVersion)
            let lists = server.recordedCalls.filter { $0.path == "/api/v1/namespaces/w/pods" && !($0.query ?? "").contains("watch=true") }
            #expect(lists.count == 1, "resuming must not list again")
            await client.shutdown()
        }
    }

    @Test("a watch the server ends (timeoutSeconds) is reopened where it left off")
    func resumeAfterServerTimeout() async throws {
        try await withServer { server in
            let client = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            var events = client.watch(Pod.self, ResourcePath(group: "", version: "v1", resource: "pods"), namespace: "w", serverTimeout: .seconds(1))
                .makeAsyncIterator()
            #expect(Self.name(try await events.next()) == "listed:")
            let writer = Task {
                try await Task.sleep(for: .milliseconds(1500))
                try Self.addPod(server, "late")
            }
            #expect(Self.name(try await events.next()) == "added:late")
            try await writer.value
            #expect(Self.watchCalls(server).count >= 2)
            #expect(Self.watchCalls(server).allSatisfy { Self.queryValue($0, "timeoutSeconds") == "1" })
            await client.shutdown()
        }
    }

    @Test("a resourceVersion older than the server's history (ERROR event 410) relists and goes on from the fresh list")
    func relistOnExpiredEvent() async throws {
        try await withServer { server in
            server.setWatchHistoryLimit(3)
            let client = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            var events = client.watchPods(namespace: "w").makeAsyncIterator()
            #expect(Self.name(try await events.next()) == "listed:")
            try Self.addPod(server, "seen")
            #expect(Self.name(try await events.next()) == "added:seen")
            server.dropWatches()
            // While the watch is away, more changes than the history keeps.
            for index in 0..<5 { try Self.addPod(server, "missed-\(index)") }
            #expect(server.remove(.pods, namespace: "w", name: "seen"))
            let relisted = try await events.next()
            #expect(Self.name(relisted) == "listed:missed-0,missed-1,missed-2,missed-3,missed-4")
            try Self.addPod(server, "after")
            #expect(Self.name(try await events.next()) == "added:after")
            await client.shutdown()
        }
    }

    @Test("an HTTP 410 on the watch request relists too")
    func relistOnHTTPGone() async throws {
        try await withServer { server in
            try Self.addPod(server, "a")
            let client = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            var events = client.watchPods(namespace: "w").makeAsyncIterator()
            #expect(Self.name(try await events.next()) == "listed:a")
            server.injectFailure(.status(410), count: 1, method: "GET", pathPrefix: "/api/v1/namespaces/w/pods")
            #expect(Self.name(try await events.next()) == "listed:a")
            try Self.addPod(server, "b")
            #expect(Self.name(try await events.next()) == "added:b")
            await client.shutdown()
        }
    }

    @Test("bookmarks move the resume point forward")
    func bookmarks() async throws {
        try await withServer { server in
            server.setWatchBookmarkInterval(.milliseconds(100))
            let client = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            try Self.addPod(server, "elsewhere")  // namespace w; the bookmark still carries the newest version
            var events = client.watchPods(namespace: "w").makeAsyncIterator()
            guard case .listed(_, let listed) = try await events.next() else { Issue.record("no list first"); return }
            guard case .bookmark(let version) = try await events.next() else { Issue.record("no bookmark"); return }
            #expect(Int(version) ?? 0 >= Int(listed) ?? .max)
            await client.shutdown()
        }
    }

    @Test("cancelling the consuming task ends the watch at once")
    func cancellation() async throws {
        try await withServer { server in
            let client = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            let consumer = Task {
                var count = 0
                for try await _ in client.watchPods(namespace: "w") { count += 1 }
                return count
            }
            try await Task.sleep(for: .milliseconds(300))
            let cancelled = ContinuousClock.now
            consumer.cancel()
            await #expect(throws: CancellationError.self) { _ = try await consumer.value }
            #expect(ContinuousClock.now - cancelled < .seconds(2))
            await client.shutdown()
        }
    }

    @Test("a watch RBAC forbids is a KubeError naming the verb, not a retry loop")
    func forbidden() async throws {
        try await withServer { server in
            server.denyRBAC(verb: "watch", resource: "pods", namespace: "w")
            let client = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            var events = client.watchPods(namespace: "w").makeAsyncIterator()
            #expect(Self.name(try await events.next()) == "listed:")
            do {
                _ = try await events.next()
                Issue.record("a forbidden watch must throw")
            } catch let error as KubeError {
                #expect(error.isForbidden && error.verb == "watch" && error.resource == "pods")
            }
            #expect(Self.watchCalls(server).count == 1)
            await client.shutdown()
        }
    }

    @Test("a label selector filters the events and is sent on list and watch")
    func labelSelector() async throws {
        try await withServer { server in
            try Self.addPod(server, "gold", labels: ["tier": "gold"])
            try Self.addPod(server, "plain")
            let client = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            var events = client.watchPods(namespace: "w", labelSelector: "tier=gold").makeAsyncIterator()
            #expect(Self.name(try await events.next()) == "listed:gold")
            try Self.relabel(server, "plain", ["tier": "gold"])
            #expect(Self.name(try await events.next()) == "added:plain")
            try Self.relabel(server, "gold", ["tier": "silver"])
            #expect(Self.name(try await events.next()) == "deleted:gold")
            await client.shutdown()
        }
    }
}

enum WatchTestError: Error { case missing(String) }

@Suite("Kubernetes watch against a misbehaving server")
struct WatchMisbehaviourTests {
    @Test("a server that cuts every watch makes the watch back off and finally fail, not spin")
    func cutWatchesBackOff() async throws {
        try await withServer { server in
            let client = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            var events = client.watchPods(namespace: "w").makeAsyncIterator()
            _ = try await events.next()
            let cutter = Task {
                while !Task.isCancelled {
                    server.dropWatches()
                    try? await Task.sleep(for: .milliseconds(2))
                }
            }
            await #expect(throws: KubeError.self) { _ = try await events.next() }
            cutter.cancel()
            let watches = server.recordedCalls.count { ($0.query ?? "").contains("watch=true") }
            // maxAttempts (4) consecutive failures, then the error: a bounded number of requests.
            #expect(watches >= 2 && watches <= 4, "\(watches) watch requests")
            await client.shutdown()
        }
    }

    @Test("a server that answers every watch with an empty 200 (a broken proxy) is backed off from, not hammered")
    func emptyWatchesBackOff() async throws {
        var router = Router()
        router.add("GET", "/api/v1/namespaces/w/pods") { request, _ in
            guard request.queryParameter("watch") == "true" else {
                return .json(200, Array(#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7"},"items":[]}"#.utf8))
            }
            return .streaming { _ in }
        }
        let server = HTTPServer(configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0), tls: nil, responder: router, logger: testLogger)
        let port = try await server.start()
        let running = Task { await server.run() }
        let configuration = KubeClientConfiguration(
            server: "http://127.0.0.1:\(port)", auth: .token("t"),
            retry: RetryPolicy(maxAttempts: 4, initialBackoff: .milliseconds(20), maxBackoff: .milliseconds(50))
        )
        let client = KubeClient(configuration: configuration, logger: testLogger)
        var events = client.watchPods(namespace: "w").makeAsyncIterator()
        let listed = try await events.next()
        guard case .listed(_, let version) = listed else { Issue.record("no list first"); return }
        #expect(version == "7")
        let started = ContinuousClock.now
        await #expect(throws: KubeError.self) { _ = try await events.next() }
        // Three backoffs of at least 10 ms (half of 20 ms, jittered) separate four empty watches.
        #expect(ContinuousClock.now - started >= .milliseconds(30))
        await client.shutdown()
        await server.shutdown(gracePeriod: .seconds(1))
        await running.value
    }
}
