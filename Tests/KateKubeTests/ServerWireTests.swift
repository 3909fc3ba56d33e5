import Foundation
import KateNet
import Testing

@testable import KubeTestServer

/// What the test server puts on the wire, read with a plain HTTP client (no KateKube decoding).
@Suite("test server wire format")
struct ServerWireTests {
    func get(_ server: KubeTestServer, _ path: String, token: String? = nil) async throws -> (status: Int, json: JSONValue) {
        let http = HTTPClient(configuration: .init(tls: server.clientConfiguration.tls), logger: testLogger)
        var headers: HTTPHeaders = ["Accept": "application/json"]
        headers.add(name: "Authorization", value: "Bearer \(token ?? server.token)")
        let response = try await http.execute(HTTPClientRequest(url: server.url + path, headers: headers), deadline: .now + .seconds(10))
        await http.shutdown()
        return (response.status, (try? JSONValue.parse(response.body)) ?? .string(String(decoding: response.body, as: UTF8.self)))
    }

    @Test("GET returns the fixture as stored (key order kept), with the server's resourceVersion")
    func getKeepsFixture() async throws {
        try await withServer { server in
            try server.load(.podWebContainerd)
            let (status, pod) = try await get(server, "/api/v1/namespaces/shop/pods/web-7d9c6b8f5-x2vqn")
            #expect(status == 200)
            var expected = try Fixture.podWebContainerd.json()
            expected[path: ["metadata", "resourceVersion"]] = pod[path: ["metadata", "resourceVersion"]]
            #expect(pod == expected)
            #expect(pod[path: ["metadata", "resourceVersion"]] != .string("48190"))
        }
    }

    @Test("lists carry kind, resourceVersion, continue and remainingItemCount; items have no TypeMeta")
    func listEnvelope() async throws {
        try await withServer { server in
            try server.addDeployment(namespace: "shop", name: "web", image: "nginx:1.27", replicas: 3)
            let (status, list) = try await get(server, "/api/v1/namespaces/shop/pods?limit=2")
            #expect(status == 200)
            #expect(list["kind"] == .string("PodList") && list["apiVersion"] == .string("v1"))
            #expect(list[path: ["metadata", "resourceVersion"]]?.stringValue.flatMap { Int($0) } == server.resourceVersion)
            #expect(list[path: ["metadata", "remainingItemCount"]] == .int(1))
            let items = try #require(list["items"]?.arrayValue)
            #expect(items.count == 2)
            #expect(items.allSatisfy { $0["kind"] == nil && $0["apiVersion"] == nil && $0["metadata"] != nil })
            let (_, deployments) = try await get(server, "/apis/apps/v1/deployments")
            #expect(deployments["kind"] == .string("DeploymentList"))
            #expect(deployments[path: ["metadata", "continue"]] == nil)
        }
    }

    @Test("a compaction expires outstanding continue tokens with the apiserver's 410 Status")
    func compaction() async throws {
        try await withServer { server in
            try server.addDeployment(namespace: "shop", name: "web", image: "nginx:1.27", replicas: 3)
            let (_, first) = try await get(server, "/api/v1/pods?limit=1")
            let token = try #require(first[path: ["metadata", "continue"]]?.stringValue)
            #expect(try await get(server, "/api/v1/pods?limit=1&continue=\(token)").status == 200)
            server.compact()
            let (status, body) = try await get(server, "/api/v1/pods?limit=1&continue=\(token)")
            #expect(status == 410)
            #expect(body["reason"] == .string("Expired") && body["code"] == .int(410))
            // A fresh list after the compaction pages normally.
            let (_, fresh) = try await get(server, "/api/v1/pods?limit=1")
            let next = try #require(fresh[path: ["metadata", "continue"]]?.stringValue)
            #expect(try await get(server, "/api/v1/pods?limit=1&continue=\(next)").status == 200)
        }
    }

    @Test("unauthenticated, unknown paths, bad selectors and bad tokens answer like the apiserver")
    func errors() async throws {
        try await withServer { server in
            let (unauthorized, status) = try await get(server, "/api/v1/pods", token: "nope")
            #expect(unauthorized == 401)
            #expect(status == .object([
                ("kind", .string("Status")), ("apiVersion", .string("v1")), ("metadata", .object([])), ("status", .string("Failure")),
                ("message", .string("Unauthorized")), ("reason", .string("Unauthorized")), ("code", .int(401)),
            ]))
            #expect(try await get(server, "/api/v1/widgets").status == 404)
            #expect(try await get(server, "/apis/apps/v1/pods").status == 404)
            let (badSelector, body) = try await get(server, "/api/v1/pods?fieldSelector=spec.image%3Dx")
            #expect(badSelector == 400 && body["message"] == .string("field label not supported: spec.image"))
            #expect(try await get(server, "/api/v1/pods?limit=1&continue=garbage").status == 400)
            server.compact()
            let missing = try await get(server, "/api/v1/namespaces/shop/pods/nope")
            #expect(missing.status == 404)
            #expect(missing.json[path: ["details", "kind"]] == .string("pods"))
        }
    }
}
