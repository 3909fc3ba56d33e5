import Foundation
import KateContract
import KateKube
import KateRegistry
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
            try await Self.sweep(under: .status(500), when: trigger) { run in
                run.expectSweptOnce()
                Self.expectRetriedOnce(page: 3, run.tokens, pages: run.fleet.pages)
            }
        }

        @Test("500 on page 3 every time: a KubeError 500 naming the pod list after the retries, no writes")
        func serverErrorOnPage3Exhausted() async throws {
            try await Self.sweep(under: .status(500), count: 100, when: .whenContinuing.onCall(2)) { run in
                let error = run.expectListError()
                #expect(error?.code == 500)
                #expect(run.fleet.pages > 3)
                #expect(run.tokens.count == 2 + Self.maxAttempts, "pages 1, 2, then page 3 × \(Self.maxAttempts): \(run.tokens)")
                #expect(Set(run.tokens.dropFirst(2)).count == 1, "page 3 retried with another token: \(run.tokens)")
            }
        }

        @Test("500 on page 3 at the sweeper's own page size (500 pods a page, 1,001 pods)")
        func serverErrorOnPage3ProductionPageSize() async throws {
            // `pageSize: nil`: the KubeClient itself is the cluster, so this is `kate sweep`'s listing, page size and all.
            let deployments: [(name: String, replicas: Int, stale: Bool)] = [("alpha", 400, true), ("bravo", 300, false), ("charlie", 301, true)]
            try await Self.sweep(under: .status(500), when: .whenContinuing.onCall(2), deployments: deployments, pageSize: nil) { run in
                run.expectSweptOnce()
                let limits = Set(run.listCalls.map { $0.queryValue("limit") ?? "" })
                #expect(limits == ["500"], "\(limits)")
                Self.expectRetriedOnce(page: 3, run.tokens, pages: run.fleet.pages)
            }
        }

        // MARK: - 429

        @Test("429 Retry-After: 1 on page 2: waited out, page 2 fetched again with the same token; every pod once")
        func tooManyRequestsOnPage2() async throws {
            try await Self.sweep(under: .tooManyRequests(retryAfterSeconds: 1), when: .whenContinuing) { run in
                run.expectSweptOnce()
                #expect(run.elapsed >= .seconds(1), "Retry-After was not honoured (\(run.elapsed))")
                #expect(run.elapsed < .seconds(5), "\(run.elapsed)")
                Self.expectRetriedOnce(page: 2, run.tokens, pages: run.fleet.pages)
            }
        }

        @Test("429 on page 2 asking for longer than kate waits (Retry-After: 30): a KubeError 429 at once, no writes")
        func tooManyRequestsOnPage2TooLong() async throws {
            try await Self.sweep(under: .tooManyRequests(retryAfterSeconds: 30), when: .whenContinuing) { run in
                let error = run.expectListError()
                #expect(error?.code == 429)
                #expect(error?.retryAfter == .seconds(30))
                #expect(run.elapsed < .seconds(2), "\(run.elapsed)")
                #expect(run.tokens.count == 2 && run.tokens.first == "" && run.tokens.last != "", "\(run.tokens)")
            }
        }

        // MARK: - Connection cut

        @Test("the connection is cut while page 2 is fetched: page 2 again with the same token; every pod once", arguments: [
            InjectedFailure.closeWithoutAnswer, .dropConnection,
        ])
        func connectionDroppedOnPage2(_ failure: InjectedFailure) async throws {
            try await Self.sweep(under: failure, when: .whenContinuing) { run in
                run.expectSweptOnce()
                Self.expectRetriedOnce(page: 2, run.tokens, pages: run.fleet.pages)
            }
        }

        @Test("every connection is cut on page 2: a KubeError naming the pod list after the retries, no writes")
        func connectionDroppedOnPage2Exhausted() async throws {
            try await Self.sweep(under: .closeWithoutAnswer, count: 100, when: .whenContinuing) { run in
                let error = run.expectListError()
                #expect(error?.code == 0)
                #expect(error?.reason == "ConnectionFailed")
                #expect(run.elapsed < .seconds(5), "\(run.elapsed)")
                let tokens = run.tokens
                // Page 1, then page 2 on KubeClient's 4 attempts plus HTTPClient's one transparent retry:
                // the first attempt went out on the pooled connection page 1 came back on, and a reused
                // connection that closes before any answer byte is retried once on a fresh one (GET only).
                #expect(tokens.count == 1 + Self.maxAttempts + 1, "\(tokens)")
                #expect(tokens.first == "" && !tokens.dropFirst().contains("") && Set(tokens.dropFirst()).count == 1, "page 2 retried with another token: \(tokens)")
            }
        }

        // MARK: - 410

        @Test("410 Expired on page 2: the list restarts from page 1 (no continue token); every pod once")
        func expiredOnPage2() async throws {
            try await Self.sweep(under: .status(410), when: .whenContinuing) { run in
                run.expectSweptOnce()
                let tokens = run.tokens, pages = run.fleet.pages
                guard tokens.count == 2 + pages else {
                    Issue.record("expected pages 1 and 2, then all \(pages) again: \(tokens)")
                    return
                }
                #expect(tokens[0].isEmpty && !tokens[1].isEmpty, "\(tokens)")
                #expect(tokens[2].isEmpty, "the list was not restarted from the first page after 410: \(tokens)")
                #expect(!tokens.dropFirst(3).contains("") && Set(tokens.dropFirst(2)).count == pages, "\(tokens)")
            }
        }

        @Test("410 Expired on page 2 of every pass: a KubeError 410 naming the pod list after the restarts, no writes")
        func expiredOnPage2Exhausted() async throws {
            try await Self.sweep(under: .status(410), count: 100, when: .whenContinuing) { run in
                let error = run.expectListError()
                #expect(error?.code == 410)
                #expect(error?.reason == "Expired")
                #expect(run.tokens.count == 2 * Self.listPasses, "\(Self.listPasses) passes of page 1 + page 2: \(run.tokens)")
                #expect(run.tokens.enumerated().allSatisfy { $0.offset % 2 == 0 ? $0.element.isEmpty : !$0.element.isEmpty }, "\(run.tokens)")
            }
        }

        // MARK: - Helpers

        /// One faulty sweep: a rig (with the connection-dropping relay when `failure` needs it), the
        /// fleet, `failure` injected into the pod list `count` times from `trigger` on, a sweep through
        /// `PagedCluster` at `pageSize` (nil: the `KubeClient` itself, page size 500) with a registry
        /// that always answers (`RegistryAnswer`), then `check`; the rig is stopped whatever happens.
        static func sweep(
            under failure: InjectedFailure, count: Int = 1, when trigger: InjectionTrigger,
            deployments: [(name: String, replicas: Int, stale: Bool)] = Fleet.standard, pageSize: Int? = KubePaginationFaultTests.pageSize,
            check: (Run) async throws -> Void
        ) async throws {
            let rig = try await SweepRig.start(allowConnectionDrops: failure == .dropConnection || failure == .closeWithoutAnswer)
            do {
                let fleet = try Fleet.add(to: rig, deployments: deployments, pageSize: pageSize ?? 500)
                rig.kube.clearRecordedCalls()
                rig.kube.injectFailure(failure, count: count, method: "GET", pathPrefix: podList, when: trigger)
                let cluster: any SweepCluster
                if let pageSize { cluster = PagedCluster(client: rig.client, pageSize: pageSize) } else { cluster = rig.client }
                let sweeper = Sweeper(
                    cluster: cluster, resolver: RegistryAnswer(), configuration: SweeperConfiguration(resolveTimeout: .seconds(10)),
                    logger: rig.logs.logger("kate.sweep"))
                let started = ContinuousClock.now
                let result: Result<SweepReport, any Error>
                do { result = .success(try await sweeper.run()) } catch { result = .failure(error) }
                try await check(Run(rig: rig, fleet: fleet, result: result, elapsed: ContinuousClock.now - started))
            } catch {
                await rig.stop()
                throw error
            }
            await rig.stop()
        }

        /// What one faulty sweep came to.
        struct Run {
            let rig: SweepRig
            let fleet: Fleet
            let result: Result<SweepReport, any Error>
            let elapsed: Duration

            var listCalls: [RecordedCall] { rig.kube.recordedCalls.filter { $0.method == "GET" && $0.path == podList } }
            /// The `continue` token of every pod-list request in order ("" for a first page).
            var tokens: [String] { listCalls.map { $0.queryValue("continue") ?? "" } }

            /// The sweep succeeded; every pod reached it once, each stale Deployment got exactly one restart.
            func expectSweptOnce(sourceLocation: SourceLocation = #_sourceLocation) {
                switch result {
                case .success(let report): fleet.expectSweptOnce(report, rig, sourceLocation: sourceLocation)
                case .failure(let error): Issue.record("the sweep threw \(error)", sourceLocation: sourceLocation)
                }
            }

            /// The sweep stopped at the list with a `KubeError` naming it, having read nothing else and
            /// written nothing (events included).
            func expectListError(sourceLocation: SourceLocation = #_sourceLocation) -> KubeError? {
                guard case .failure(let thrown) = result, let error = thrown as? KubeError else {
                    Issue.record("expected a KubeError, the sweep came to \(result)", sourceLocation: sourceLocation)
                    return nil
                }
                #expect("\(error)".contains("list pods"), "\(error)", sourceLocation: sourceLocation)
                // The opt-out namespace list comes before the pod list (pods are judged page by page); after the
                // first page request, nothing but the pod list may be read.
                let calls = rig.kube.recordedCalls
                let fromList = calls.drop { !($0.method == "GET" && $0.path == podList) }
                let others = fromList.filter { !($0.method == "GET" && $0.path == podList) }.map { "\($0.method) \($0.path)" }
                #expect(calls.prefix(calls.count - fromList.count).map { "\($0.method) \($0.path)" } == ["GET /api/v1/namespaces"],
                        sourceLocation: sourceLocation)
                #expect(others.isEmpty, "calls after the list failed: \(others)", sourceLocation: sourceLocation)
                return error
            }
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

        /// Deployments in `shop`, some stale (their pods run `SweepRig.oldDigest`) and some current,
        /// whose pods straddle page boundaries.
        struct Fleet {
            var pods: Set<String>
            var podCount: Int
            /// One rollout restart per stale Deployment, sorted.
            var restarts: [String]
            var pages: Int

            /// 10 pods (3 stale, 2 current, 3 stale, 2 stale): 4 pages of 3.
            static let standard: [(name: String, replicas: Int, stale: Bool)] = [("alpha", 3, true), ("bravo", 2, false), ("charlie", 3, true), ("delta", 2, true)]

            static func add(to rig: SweepRig, deployments: [(name: String, replicas: Int, stale: Bool)], pageSize: Int) throws -> Fleet {
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
            func serviceAccountPullSecrets(namespace: String, name: String) async throws -> [String]? {
                try await client.serviceAccountPullSecrets(namespace: namespace, name: name)
            }
            func pullSecretConfig(namespace: String, name: String) async throws -> DockerConfig? {
                try await client.pullSecretConfig(namespace: namespace, name: name)
            }
            func rolloutRestart(_ workload: WorkloadReference, at: Date) async throws { try await client.rolloutRestart(workload, at: at) }
            func evict(namespace: String, pod: String) async throws -> EvictionOutcome { try await client.evict(namespace: namespace, pod: pod) }
            func deletePod(namespace: String, name: String, uid: String) async throws { try await client.deletePod(namespace: namespace, name: name, uid: uid) }
            func recordEvent(_ event: SweepEvent) async throws { try await client.recordEvent(event) }
        }
    }
}
