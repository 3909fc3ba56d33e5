import Foundation
import KateNet
import KubeTestServer
import Testing

/// The test server's watch on the wire (what kubectl and the Python client are proven against in
/// tests/clients/test_watch.py), for the cases those clients do not reach.
@Suite("Test server watch wire format")
struct WatchServerTests {
    private static func events(_ server: KubeTestServer, _ query: String, until count: Int) async throws -> (status: Int, headers: HTTPHeaders, lines: [[String: Any]]) {
        let client = HTTPClient(configuration: .init(tls: server.clientConfiguration.tls))
        let response = try await client.stream(
            .init(url: server.url + "/api/v1/namespaces/w/pods?" + query, headers: ["Authorization": "Bearer \(server.token)"]),
            headDeadline: .now + .seconds(10)
        )
        var buffer: [UInt8] = []
        var lines: [[String: Any]] = []
        while lines.count < count, let bytes = try await response.nextBodyBytes(deadline: .now + .seconds(10)) {
            buffer += bytes
            while let newline = buffer.firstIndex(of: 0x0A) {
                let line = Array(buffer[..<newline])
                buffer.removeFirst(newline + 1)
                lines.append(try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]))
            }
        }
        await response.close()
        await client.shutdown()
        return (response.status, response.headers, lines)
    }

    private static func addPod(_ server: KubeTestServer, _ name: String) throws {
        try server.addPod(namespace: "w", name: name, containers: [TestContainer(name: "c", image: "nginx:1.27")])
    }

    @Test("sendInitialEvents: ADDED for the current objects, then a BOOKMARK annotated initial-events-end")
    func watchList() async throws {
        try await withServer { server in
            try Self.addPod(server, "a")
            try Self.addPod(server, "b")
            let (status, headers, lines) = try await Self.events(server, "watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true", until: 3)
            #expect(status == 200 && headers["Transfer-Encoding"] == "chunked" && headers["Content-Type"] == "application/json")
            #expect(lines.map { $0["type"] as? String } == ["ADDED", "ADDED", "BOOKMARK"])
            let bookmark = try #require(lines.last?["object"] as? [String: Any])
            let metadata = try #require(bookmark["metadata"] as? [String: Any])
            #expect((metadata["annotations"] as? [String: String])?["k8s.io/initial-events-end"] == "true")
            #expect(metadata["resourceVersion"] as? String == String(server.resourceVersion))
        }
    }

    @Test("the window is exact: a watch from the oldest kept change's predecessor works, one change older is 410")
    func exactWindow() async throws {
        try await withServer { server in
            server.setWatchHistoryLimit(2)
            let start = server.resourceVersion
            for name in ["a", "b", "c"] { try Self.addPod(server, name) }
            // Kept: the changes to b and c. After start+1 (a's change) both are there; after start, a's is missing.
            let fine = try await Self.events(server, "watch=true&resourceVersion=\(start + 1)&timeoutSeconds=1", until: 2)
            #expect(fine.lines.compactMap { ($0["object"] as? [String: Any]).flatMap { ($0["metadata"] as? [String: Any])?["name"] as? String } } == ["b", "c"])
            let gone = try await Self.events(server, "watch=true&resourceVersion=\(start)&timeoutSeconds=1", until: 1)
            #expect(gone.status == 200)
            let status = try #require(gone.lines.first?["object"] as? [String: Any])
            #expect(gone.lines.first?["type"] as? String == "ERROR")
            #expect(status["code"] as? Int == 410 && status["reason"] as? String == "Expired")
            // The watch cache's wording: the requested version, and the oldest kept one minus one.
            #expect(status["message"] as? String == "too old resource version: \(start) (\(start + 1))")
        }
    }

    @Test("a deleted object arrives with the deletion's resourceVersion; a non-numeric resourceVersion is 400")
    func deletionAndBadVersion() async throws {
        try await withServer { server in
            try Self.addPod(server, "a")
            let before = server.resourceVersion
            #expect(server.remove(.pods, namespace: "w", name: "a"))
            let deleted = try await Self.events(server, "watch=1&resourceVersion=\(before)&timeoutSeconds=1", until: 1)
            let object = try #require(deleted.lines.first?["object"] as? [String: Any])
            #expect(deleted.lines.first?["type"] as? String == "DELETED")
            #expect((object["metadata"] as? [String: Any])?["resourceVersion"] as? String == String(before + 1))
            let bad = try await Self.events(server, "watch=true&resourceVersion=abc", until: 1)
            #expect(bad.status == 400)
        }
    }
}
