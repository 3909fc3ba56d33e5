import Foundation
import KateKube
import KateSweeper
import KubeTestServer
import Testing

extension Reliability {
    /// The API server fails on a *later* page of the sweeper's pod list (issue #8): 500, 429, a cut
    /// connection and 410 on page 2 or 3. `KubeClient` documents what happens (KubeClient.swift,
    /// KubeClient+Calls.swift): a failed page is retried with the *same* continue token (5xx, 429
    /// within `maxRetryAfter`, connection errors; up to `RetryPolicy.maxAttempts`), and only a 410
    /// restarts the list from the first page (up to `maxListRestarts` times). Either way every pod
    /// must reach the sweeper exactly once, so every stale owner is restarted exactly once; when
    /// the retries run out the sweep ends in a `KubeError` naming the list, before any write.
    ///
    /// The sweeper lists with a fixed page size (500, `KubeClient+SweepCluster.swift`; no flag sets
    /// it), so these tests put a `PagedCluster` with 3 pods a page between the real `Sweeper` and the
    /// real `KubeClient`; one test keeps the production page size with 1,001 pods.
    @Suite("Kubernetes API faults on a later list page", .timeLimit(.minutes(1)))
    struct KubePaginationFaultTests {
        static let pageSize = 3
        static let podList = "/api/v1/pods"
        /// The test server's `clientConfiguration` retry policy: 4 attempts, Retry-After up to 5 s.
        static let maxAttempts = 4
        /// `KubeClient.maxListRestarts` (3) restarts after the first pass.
        static let listPasses = 4

        // MARK: - 500

        @Test("500 on page 3: that page is fetched again with the same continue token; every pod once, every stale owner restarted once", arguments: [
            InjectionTrigger.onCall(3), .whenContinuing.onCall(2),
        ])
        func serverErrorOnPage3(_ trigger: InjectionTrigger) async throws {
            let rig = try await SweepRig.start()
            let fleet = try Fleet.add(to: rig)
            rig.kube.clearRecordedCalls()
            rig.kube.injectFailure(.status(500), method: "GET", pathPrefix: Self.podList, when: trigger)
            let report = try await Self.sweep(rig)
            fleet.expectSweptOnce(report, rig)
            Self.expectRetriedOnce(page: 3, Self.pageTokens(rig), pages: fleet.pages)
            await rig.stop()
        }

        @Test("500 on page 3 every time: a KubeError 500 naming the pod list after the retries, no writes")
        func serverErrorOnPage3Exhausted() async throws {
            let rig = try await SweepRig.start()
            let fleet = try Fleet.add(to: rig)
            rig.kube.clearRecordedCalls()
            rig.kube.injectFailure(.status(500), count: 100, method: "GET", pathPrefix: Self.podList, when: .whenContinuing.onCall(2))
            let error = await #expect(throws: KubeError.self) { try await Self.sweep(rig) }
            #expect(error?.code == 500)
            #expect(error.map { "\($0)" }?.contains("list pods") == true, "\(error.map { "\($0)" } ?? "no error")")
            Self.expectOnlyPodListCalls(rig)
            let tokens = Self.pageTokens(rig)
            #expect(tokens.count == 2 + Self.maxAttempts, "pages 1, 2, then page 3 × \(Self.maxAttempts): \(tokens)")
            #expect(Set(tokens.dropFirst(2)).count == 1, "page 3 retried with another token: \(tokens)")
            #expect(fleet.pages > 3)
            await rig.stop()
        }

        @Test("500 on page 3 at the sweeper's own page size (500 pods a page, 1,001 pods)")
        func serverErrorOnPage3ProductionPageSize() async throws {
            let rig = try await SweepRig.start()
            let fleet = try Fleet.add(to: rig, deployments: [("alpha", 400, true), ("bravo", 300, false), ("charlie", 301, true)], pageSize: 500)
            rig.kube.clearRecordedCalls()
            rig.kube.injectFailure(.status(500), method: "GET", pathPrefix: Self.podList, when: .whenContinuing.onCall(2))
            // The KubeClient itself as the cluster: `kate sweep`'s listing, page size and all.
            let report = try await rig.sweep(resolver: RegistryAnswer())
            fleet.expectSweptOnce(report, rig)
            let calls = rig.kube.recordedCalls.filter { $0.method == "GET" && $0.path == Self.podList }
            #expect(calls.allSatisfy { $0.queryValue("limit") == "500" }, "\(calls.map { $0.query ?? "" })")
            Self.expectRetriedOnce(page: 3, calls.map { $0.queryValue("continue") ?? "" }, pages: fleet.pages)
            await rig.stop()
        }

        // MARK: - 429

        @Test("429 Retry-After: 1 on page 2: waited out, page 2 fetched again with the same token; every pod once")
        func tooManyRequestsOnPage2() async throws {
            let rig = try await SweepRig.start()
            let fleet = try Fleet.add(to: rig)
            rig.kube.clearRecordedCalls()
            rig.kube.injectFailure(.tooManyRequests(retryAfterSeconds: 1), method: "GET", pathPrefix: Self.podList, when: .whenContinuing)
            let started = ContinuousClock.now
            let report = try await Self.sweep(rig)
            let elapsed = ContinuousClock.now - started
            fleet.expectSweptOnce(report, rig)
            #expect(elapsed >= .seconds(1), "Retry-After was not honoured (\(elapsed))")
            #expect(elapsed < .seconds(5), "\(elapsed)")
            Self.expectRetriedOnce(page: 2, Self.pageTokens(rig), pages: fleet.pages)
            await rig.stop()
        }

        @Test("429 on page 2 asking for longer than kate waits (Retry-After: 30): a KubeError 429 at once, no writes")
        func tooManyRequestsOnPage2TooLong() async throws {
            let rig = try await SweepRig.start()
            try Fleet.add(to: rig)
            rig.kube.clearRecordedCalls()
            rig.kube.injectFailure(.tooManyRequests(retryAfterSeconds: 30), method: "GET", pathPrefix: Self.podList, when: .whenContinuing)
            let started = ContinuousClock.now
            let error = await #expect(throws: KubeError.self) { try await Self.sweep(rig) }
            #expect(ContinuousClock.now - started < .seconds(2))
            #expect(error?.code == 429)
            #expect(error?.retryAfter == .seconds(30))
            #expect(error.map { "\($0)" }?.contains("list pods") == true, "\(error.map { "\($0)" } ?? "no error")")
            Self.expectOnlyPodListCalls(rig)
            let tokens = Self.pageTokens(rig)
            #expect(tokens.count == 2 && tokens.first == "" && tokens.last != "", "\(tokens)")
            await rig.stop()
        }

        // MARK: - Connection cut

        @Test("the connection is cut while page 2 is fetched: page 2 again with the same token; every pod once", arguments: [
            InjectedFailure.closeWithoutAnswer, .dropConnection,
        ])
        func connectionDroppedOnPage2(_ failure: InjectedFailure) async throws {
            let rig = try await SweepRig.start(allowConnectionDrops: true)
            let fleet = try Fleet.add(to: rig)
            rig.kube.clearRecordedCalls()
            rig.kube.injectFailure(failure, method: "GET", pathPrefix: Self.podList, when: .whenContinuing)
            let report = try await Self.sweep(rig)
            fleet.expectSweptOnce(report, rig)
            Self.expectRetriedOnce(page: 2, Self.pageTokens(rig), pages: fleet.pages)
            await rig.stop()
        }

        @Test("every connection is cut on page 2: a KubeError naming the pod list after the retries, no writes")
        func connectionDroppedOnPage2Exhausted() async throws {
            let rig = try await SweepRig.start(allowConnectionDrops: true)
            try Fleet.add(to: rig)
            rig.kube.clearRecordedCalls()
            rig.kube.injectFailure(.closeWithoutAnswer, count: 100, method: "GET", pathPrefix: Self.podList, when: .whenContinuing)
            let started = ContinuousClock.now
            let error = await #expect(throws: KubeError.self) { try await Self.sweep(rig) }
            #expect(ContinuousClock.now - started < .seconds(5))
            #expect(error?.code == 0)
            #expect(error?.reason == "ConnectionFailed")
            #expect(error.map { "\($0)" }?.contains("cannot list pods") == true, "\(error.map { "\($0)" } ?? "no error")")
            Self.expectOnlyPodListCalls(rig)
            let tokens = Self.pageTokens(rig)
            // Page 1, then page 2 on KubeClient's 4 attempts plus HTTPClient's one transparent retry:
            // the first attempt went out on the pooled connection page 1 came back on, and a reused
            // connection that closes before any answer byte is retried once on a fresh one (GET only).
            #expect(tokens.count == 1 + Self.maxAttempts + 1, "\(tokens)")
            #expect(tokens.first == "" && !tokens.dropFirst().contains("") && Set(tokens.dropFirst()).count == 1, "page 2 retried with another token: \(tokens)")
            await rig.stop()
        }

        // MARK: - 410

        @Test("410 Expired on page 2: the list restarts from page 1 (no continue token); every pod once")
        func expiredOnPage2() async throws {
            let rig = try await SweepRig.start()
            let fleet = try Fleet.add(to: rig)
            rig.kube.clearRecordedCalls()
            rig.kube.injectFailure(.status(410), method: "GET", pathPrefix: Self.podList, when: .whenContinuing)
            let report = try await Self.sweep(rig)
            fleet.expectSweptOnce(report, rig)
            let tokens = Self.pageTokens(rig)
            #expect(tokens.count == 2 + fleet.pages, "pages 1 and 2, then all \(fleet.pages) again: \(tokens)")
            if tokens.count == 2 + fleet.pages {
                #expect(tokens[0].isEmpty && !tokens[1].isEmpty, "\(tokens)")
                #expect(tokens[2].isEmpty, "the list was not restarted from the first page after 410: \(tokens)")
                #expect(!tokens.dropFirst(3).contains("") && Set(tokens.dropFirst(2)).count == fleet.pages, "\(tokens)")
            }
            await rig.stop()
        }

        @Test("410 Expired on page 2 of every pass: a KubeError 410 naming the pod list after the restarts, no writes")
        func expiredOnPage2Exhausted() async throws {
            let rig = try await SweepRig.start()
            try Fleet.add(to: rig)
            rig.kube.clearRecordedCalls()
            rig.kube.injectFailure(.status(410), count: 100, method: "GET", pathPrefix: Self.podList, when: .whenContinuing)
            let error = await #expect(throws: KubeError.self) { try await Self.sweep(rig) }
            #expect(error?.code == 410)
            #expect(error?.reason == "Expired")
            #expect(error.map { "\($0)" }?.contains("list pods") == true, "\(error.map { "\($0)" } ?? "no error")")
            Self.expectOnlyPodListCalls(rig)
            let tokens = Self.pageTokens(rig)
            #expect(tokens.count == 2 * Self.listPasses, "\(Self.listPasses) passes of page 1 + page 2: \(tokens)")
            #expect(tokens.enumerated().allSatisfy { $0.offset % 2 == 0 ? $0.element.isEmpty : !$0.element.isEmpty }, "\(tokens)")
            await rig.stop()
        }

        // MARK: - Helpers

        /// Sweeps with `PagedCluster` at `pageSize`; the registry side always answers (`RegistryAnswer`).
        static func sweep(_ rig: SweepRig, pageSize: Int = pageSize) async throws -> SweepReport {
            let sweeper = Sweeper(
                cluster: PagedCluster(client: rig.client, pageSize: pageSize), resolver: RegistryAnswer(),
                configuration: SweeperConfiguration(resolveTimeout: .seconds(10)), logger: rig.logs.logger("kate.sweep"))
            return try await sweeper.run()
        }

        /// The `continue` token of every pod-list request in order ("" for a first page).
        static func pageTokens(_ rig: SweepRig) -> [String] {
            rig.kube.recordedCalls.filter { $0.method == "GET" && $0.path == podList }.map { $0.queryValue("continue") ?? "" }
        }

        /// `pages` pages in order, page `page` requested twice with the same continue token, no other
        /// page repeated or skipped; only the first request without a token.
        static func expectRetriedOnce(page: Int, _ tokens: [String], pages: Int, sourceLocation: SourceLocation = #_sourceLocation) {
            guard tokens.count == pages + 1 else {
                Issue.record("expected \(pages) pages plus one retry of page \(page), saw \(tokens.count) list calls: \(tokens)", sourceLocation: sourceLocation)
                return
            }
            #expect(tokens[0].isEmpty && !tokens.dropFirst().contains(""), "only the first request may lack a continue token: \(tokens)", sourceLocation: sourceLocation)
            #expect(tokens[page - 1] == tokens[page], "page \(page) was not fetched again with its own continue token: \(tokens)", sourceLocation: sourceLocation)
            #expect(Set(tokens).count == pages, "a page was skipped or fetched twice: \(tokens)", sourceLocation: sourceLocation)
        }

        /// The sweep stopped at the list: nothing else was read and nothing written (events included).
        static func expectOnlyPodListCalls(_ rig: SweepRig, sourceLocation: SourceLocation = #_sourceLocation) {
            let others = rig.kube.recordedCalls.filter { !($0.method == "GET" && $0.path == podList) }.map { "\($0.method) \($0.path)" }
            #expect(others.isEmpty, "calls after the list failed: \(others)", sourceLocation: sourceLocation)
        }

        /// Deployments in `shop`, some stale (their pods run `SweepRig.oldDigest`) and some current,
        /// whose pods straddle page boundaries.
        struct Fleet {
            var pods: Set<String>
            var podCount: Int
            /// One rollout restart per stale Deployment, sorted.
            var restarts: [String]
            var pages: Int

            /// Default: 10 pods (3 stale, 2 current, 3 stale, 2 stale), 4 pages of 3.
            @discardableResult
            static func add(
                to rig: SweepRig, deployments: [(name: String, replicas: Int, stale: Bool)] = [("alpha", 3, true), ("bravo", 2, false), ("charlie", 3, true), ("delta", 2, true)],
                pageSize: Int = KubePaginationFaultTests.pageSize
            ) throws -> Fleet {
                let host = rig.registry.host
                var names: [String] = []
                var restarts: [String] = []
                for deployment in deployments {
                    let digest = deployment.stale ? SweepRig.oldDigest : FaultyRegistry.digest
                    let objects = try rig.kube.addDeployment(
                        namespace: "shop", name: deployment.name, image: "\(host)/shop/\(deployment.name):1.0", replicas: deployment.replicas,
                        imageID: "\(host)/shop/\(deployment.name)@\(digest)")
                    names += objects.pods.compactMap(\.metadata.name)
                    if deployment.stale { restarts.append("PATCH /apis/apps/v1/namespaces/shop/deployments/\(deployment.name)") }
                }
                return Fleet(pods: Set(names), podCount: names.count, restarts: restarts.sorted(), pages: (names.count + pageSize - 1) / pageSize)
            }

            /// Every pod reached the sweeper once, and each stale Deployment got exactly one restart.
            func expectSweptOnce(_ report: SweepReport, _ rig: SweepRig, sourceLocation: SourceLocation = #_sourceLocation) {
                let seen = report.findings.map(\.target.pod.name)
                #expect(report.podCount == podCount, "pods collected: \(report.podCount), expected \(podCount)", sourceLocation: sourceLocation)
                #expect(seen.count == podCount, "one container each, so one finding per pod: \(seen.count) findings", sourceLocation: sourceLocation)
                #expect(Set(seen) == pods, "missing: \(pods.subtracting(seen).sorted()), unexpected: \(Set(seen).subtracting(pods).sorted())", sourceLocation: sourceLocation)
                #expect(rig.writes.sorted() == restarts, "writes: \(rig.writes)", sourceLocation: sourceLocation)
                #expect(report.results.count == restarts.count, "\(report.results.map(\.text))", sourceLocation: sourceLocation)
                #expect(report.results.allSatisfy { $0.outcome == .done }, "\(report.results.map(\.text))", sourceLocation: sourceLocation)
            }
        }

        /// The real `KubeClient` as the sweeper's cluster, listing pods `pageSize` at a time (the
        /// `SweepCluster` conformance in KateSweeper fixes 500); everything else is forwarded.
        struct PagedCluster: SweepCluster {
            let client: KubeClient
            let pageSize: Int

            func listPods(namespace: String?, labelSelector: String?) async throws -> [Pod] {
                try await client.listPods(namespace: namespace, labelSelector: labelSelector, fieldSelector: nil, pageSize: pageSize)
            }

            func optedOutNamespaces() async throws -> Set<String> { try await client.optedOutNamespaces() }
            func workload(_ reference: WorkloadReference) async throws -> WorkloadState? { try await client.workload(reference) }
            func serviceAccountPullSecrets(namespace: String, name: String) async throws -> [String] {
                try await client.serviceAccountPullSecrets(namespace: namespace, name: name)
            }
            func pullSecret(namespace: String, name: String) async throws -> PullSecretData? { try await client.pullSecret(namespace: namespace, name: name) }
            func rolloutRestart(_ workload: WorkloadReference, at: Date) async throws { try await client.rolloutRestart(workload, at: at) }
            func evict(namespace: String, pod: String) async throws -> EvictionOutcome { try await client.evict(namespace: namespace, pod: pod) }
            func deletePod(namespace: String, name: String, uid: String) async throws { try await client.deletePod(namespace: namespace, name: name, uid: uid) }
            func recordEvent(_ event: SweepEvent) async throws { try await client.recordEvent(event) }
        }
    }
}
