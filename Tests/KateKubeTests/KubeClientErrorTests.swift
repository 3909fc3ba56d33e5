import Foundation
@testable import KateKube
import KubeTestServer
import Testing

@Suite("KubeClient error mapping and retries")
struct KubeClientErrorTests {
    @Test("403 names the subject, verb, resource and namespace, and says how to fix it")
    func forbidden() async throws {
        try await withServer { server in
            try server.addDeployment(namespace: "shop", name: "web", image: "nginx:1.27")
            server.denyRBAC(verb: "patch", resource: "deployments", namespace: "shop")
            let client = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            let error = try await #require(throws: KubeError.self) {
                try await client.rolloutRestart(.deployment, namespace: "shop", name: "web", at: Date())
            }
            #expect(error.code == 403 && error.reason == "Forbidden")
            #expect(error.message == #"deployments.apps "web" is forbidden: User "system:serviceaccount:kate:kate-sweeper" cannot patch resource "deployments" in API group "apps" in the namespace "shop""#)
            #expect(error.verb == "patch" && error.resource == "deployments" && error.namespace == "shop")
            #expect(error.description.hasPrefix("RBAC: kate-sweeper cannot patch deployments in namespace shop; grant it via the chart's RBAC"))
            #expect(server.recordedCalls.count == 1, "403 is not retried")

            server.denyRBAC(verb: "list", resource: "pods")
            let list = try await #require(throws: KubeError.self) { try await client.listPods(namespace: nil) }
            #expect(list.message.hasSuffix("at the cluster scope"))
            #expect(list.description.contains("cannot list pods cluster-wide"))
            server.denyRBAC(verb: "create", resource: "pods/eviction", namespace: "shop")
            let evict = try await #require(throws: KubeError.self) { try await client.evict(namespace: "shop", name: "x") }
            #expect(evict.description.contains("cannot create pods/eviction in namespace shop"))
        }
    }

    @Test("429 on a GET waits Retry-After and succeeds; on a write it is returned with retryAfter")
    func tooManyRequests() async throws {
        try await withServer { server in
            try server.addDeployment(namespace: "shop", name: "web", image: "nginx:1.27")
            let client = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            server.injectFailure(.tooManyRequests(retryAfterSeconds: 1), count: 1, method: "GET")
            let start = ContinuousClock.now
            _ = try await client.getDeployment(namespace: "shop", name: "web")
            #expect(ContinuousClock.now - start >= .milliseconds(950), "waited for Retry-After")
            #expect(server.recordedCalls.count == 2)

            server.clearRecordedCalls()
            server.injectFailure(.tooManyRequests(retryAfterSeconds: 7), count: 1, method: "PATCH")
            let error = try await #require(throws: KubeError.self) {
                try await client.rolloutRestart(.deployment, namespace: "shop", name: "web", at: Date())
            }
            #expect(error.code == 429 && error.retryAfter == .seconds(7))
            #expect(server.recordedCalls.count == 1)
        }
    }

    @Test("500 is retried with backoff on GET/LIST but never on POST, PATCH or DELETE")
    func serverErrors() async throws {
        try await withServer { server in
            let web = try server.addDeployment(namespace: "shop", name: "web", image: "nginx:1.27", replicas: 2)
            let client = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            server.injectFailure(.status(500), count: 2, method: "GET")
            #expect(try await client.listPods(namespace: "shop").count == 2)
            #expect(server.recordedCalls.count == 3)

            server.clearRecordedCalls()
            server.injectFailure(.status(503), count: 10, method: "GET")
            let exhausted = try await #require(throws: KubeError.self) { try await client.getPod(namespace: "shop", name: "nope") }
            #expect(exhausted.code == 503)
            #expect(server.recordedCalls.count == server.clientConfiguration.retry.maxAttempts)

            for method in ["PATCH", "POST", "DELETE"] {
                let call: @Sendable () async throws -> Void
                switch method {
                case "PATCH": call = { try await client.rolloutRestart(.deployment, namespace: "shop", name: "web", at: Date()) }
                case "POST": call = { try await client.evict(namespace: "shop", name: web.pods[0].metadata.name ?? "") }
                default: call = { try await client.deletePod(namespace: "shop", name: web.pods[1].metadata.name ?? "", uid: web.pods[1].metadata.uid ?? "") }
                }
                server.clearRecordedCalls()
                server.injectFailure(.status(500), count: 1, method: method)
                let error = try await #require(throws: KubeError.self) { try await call() }
                #expect(error.code == 500 && error.reason == "InternalError")
                #expect(server.recordedCalls.count == 1, "\(method) must not be retried after a 500")
            }
            #expect(server.count(.pods) == 2, "nothing was evicted or deleted")
        }
    }

    @Test("a connection cut after the request was served: GET retries, PATCH reports it and is not repeated")
    func droppedConnection() async throws {
        let server = try await KubeTestServer.start(allowConnectionDrops: true, logger: testLogger)
        do {
            try server.addDeployment(namespace: "shop", name: "web", image: "nginx:1.27")
            let client = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            server.injectFailure(.dropConnection, count: 1, method: "GET")
            #expect(try await client.getDeployment(namespace: "shop", name: "web").metadata.name == "web")
            #expect(server.recordedCalls.count == 2)

            server.clearRecordedCalls()
            server.injectFailure(.dropConnection, count: 1, method: "PATCH")
            let error = try await #require(throws: KubeError.self) {
                try await client.rolloutRestart(.deployment, namespace: "shop", name: "web", at: Date())
            }
            #expect(error.code == 0 && error.reason == "ConnectionFailed")
            #expect(server.recordedCalls.count == 1, "the PATCH may have been applied (it was), so it is not sent again")
            let deployment = try #require(server.object(.deployments, namespace: "shop", name: "web"))
            #expect(deployment[path: ["spec", "template", "metadata", "annotations", "kubectl.kubernetes.io/restartedAt"]] != nil)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    @Test("connection refused is retried for reads and reported with the server and call")
    func connectionRefused() async throws {
        let port = try await withServer { server in server.port }
        let config = KubeClientConfiguration(
            server: "https://127.0.0.1:\(port)", auth: .token("t"),
            retry: RetryPolicy(maxAttempts: 3, initialBackoff: .milliseconds(5), maxBackoff: .milliseconds(10))
        )
        let client = KubeClient(configuration: config, logger: testLogger)
        let error = try await #require(throws: KubeError.self) { try await client.listPods(namespace: "shop") }
        #expect(error.code == 0 && error.reason == "ConnectionFailed")
        #expect(error.description.contains("cannot list pods in namespace shop"))
        // The transport failure is kept, not flattened: a refused connect is told apart from TLS or DNS trouble.
        guard case .connectFailed(let host, let failedPort, _)? = error.transport else {
            Issue.record("expected the connect failure as the cause, got \(String(describing: error.transport))")
            return
        }
        #expect(host == "127.0.0.1" && failedPort == port)
    }

    @Test("a non-Status error body (a proxy's HTML) still becomes a KubeError")
    func decodeErrorWithoutStatus() {
        let error = KubeError(code: 502, reason: "InternalError", message: "<html>bad gateway</html>", verb: "get", resource: "pods", namespace: "a", name: "b")
        #expect(error.description.contains("502"))
        #expect(KubeError.subject(in: #"User "system:serviceaccount:kate:kate-sweeper" cannot"#) == "kate-sweeper")
        #expect(KubeError.subject(in: #"User "alice@example.com" cannot"#) == "alice@example.com")
    }
}
