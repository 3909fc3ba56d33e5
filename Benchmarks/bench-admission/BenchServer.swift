import Foundation
import KateAdmission
import KateNet
import Logging

/// kate's webhook on kate's server over TLS, on 127.0.0.1:<ephemeral>.
final class BenchServer: Sendable {
    let port: Int
    private let server: HTTPServer
    private let client: HTTPClient
    private let runTask: Task<Void, Never>

    static func start(_ webhook: any HTTPResponder, logger: Logger) async throws -> BenchServer {
        let ca = try CertificateAuthority.generate(commonName: "bench CA")
        let leaf = try ca.issue(commonName: "kate.kate.svc", dnsNames: ["kate.kate.svc"], ipAddresses: ["127.0.0.1"])
        let tls = try TLSServerContext(certificateChain: .pem(leaf.certificatePEM), privateKey: .pem(leaf.privateKeyPEM), logger: logger)
        var router = Router()
        router.add("POST", "/mutate", webhook)
        let server = HTTPServer(configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0), tls: tls, responder: router, logger: logger)
        let port = try await server.start()
        let runTask = Task { await server.run() }
        let client = HTTPClient(
            configuration: .init(tls: TLSClientConfiguration(useSystemTrustStore: false, additionalTrustRoots: [.pem(ca.certificatePEM)], serverNameOverride: "kate.kate.svc")),
            logger: logger)
        return BenchServer(port: port, server: server, client: client, runTask: runTask)
    }

    private init(port: Int, server: HTTPServer, client: HTTPClient, runTask: Task<Void, Never>) {
        self.port = port
        self.server = server
        self.client = client
        self.runTask = runTask
    }

    func post(_ body: [UInt8]) async throws -> HTTPClientResponse {
        try await client.execute(
            HTTPClientRequest(method: "POST", url: "https://127.0.0.1:\(port)/mutate?timeout=10s", headers: ["Content-Type": "application/json"], body: body),
            deadline: .now + .seconds(30))
    }

    func stop() async {
        await client.shutdown()
        await server.shutdown(gracePeriod: .seconds(1))
        await runTask.value
    }
}

