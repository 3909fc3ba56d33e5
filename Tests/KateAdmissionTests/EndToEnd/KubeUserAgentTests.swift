import Foundation
import KateKube
import KateNet
import Synchronization
import Testing

/// An API server's audit log should say who called: kate, its version and which component.
@Suite("Kubernetes API User-Agent")
struct KubeUserAgentTests {
    @Test("every Kubernetes API request carries User-Agent kate/<version> (<component>)")
    func userAgent() async throws {
        let seen = Mutex<[String]>([])
        let server = HTTPServer(
            configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0), tls: nil,
            responder: ClosureResponder { request, _ in
                seen.withLock { $0.append(request.headers["User-Agent"] ?? "<none>") }
                return .json(200, Array(#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop","labels":{"a":"b"}}}"#.utf8))
            }, logger: TestLogging.quiet)
        let port = try await server.start()
        let running = Task { await server.run() }
        let client = KubeClient(
            configuration: KubeClientConfiguration(server: "http://127.0.0.1:\(port)"), fieldManager: "kate-webhook", logger: TestLogging.quiet)
        let namespace = try await client.getNamespace(name: "shop")
        #expect(namespace.metadata.labels == ["a": "b"])
        await client.shutdown()
        await server.shutdown(gracePeriod: .seconds(1))
        await running.value
        #expect(seen.withLock { $0 } == ["kate/\(KateVersion.current) (kate-webhook)"])
        #expect(KateVersion.userAgent == "kate/" + KateVersion.current)
    }
}
