import Foundation
import KateAdmission
import KateNet
import Logging

/// kate's webhook as the apiserver sees it: `POST /mutate` and `/validate` on kate's own
/// HTTPServer over TLS (a fresh CA, a serving certificate for `kate.kate.svc` and 127.0.0.1),
/// and an HTTPClient that connects the way kube-apiserver does (SNI `kate.kate.svc`, ALPN
/// http/1.1, keep-alive).
final class WebhookServer: Sendable {
    let port: Int
    let client: HTTPClient
    private let server: HTTPServer
    private let runTask: Task<Void, Never>

    static let serviceName = "kate.kate.svc"

    static func start(
        mutating: MutatingWebhook, validating: ValidatingWebhook? = nil, maxBodyBytes: Int = 8 << 20, logger: Logger = quietLogger
    ) async throws -> WebhookServer {
        var router = Router()
        router.add("POST", "/mutate", mutating)
        if let validating { router.add("POST", "/validate", validating) }
        return try await start(router: router, maxBodyBytes: maxBodyBytes, logger: logger)
    }

    /// The same server and client for any routes (the registry-events listener's tests use it).
    static func start(router: Router, maxBodyBytes: Int = 8 << 20, logger: Logger = quietLogger) async throws -> WebhookServer {
        let ca = try CertificateAuthority.generate(commonName: "kate webhook test CA")
        let leaf = try ca.issue(commonName: serviceName, dnsNames: [serviceName], ipAddresses: ["127.0.0.1"])
        let tls = try TLSServerContext(certificateChain: .pem(leaf.certificatePEM), privateKey: .pem(leaf.privateKeyPEM), logger: logger)
        let configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0, maxBodyBytes: maxBodyBytes)
        let server = HTTPServer(configuration: configuration, tls: tls, responder: router, logger: logger)
        let port = try await server.start()
        let runTask = Task { await server.run() }
        let client = HTTPClient(
            configuration: .init(tls: TLSClientConfiguration(
                useSystemTrustStore: false, additionalTrustRoots: [.pem(ca.certificatePEM)], serverNameOverride: serviceName)),
            logger: logger)
        return WebhookServer(port: port, client: client, server: server, runTask: runTask)
    }

    private init(port: Int, client: HTTPClient, server: HTTPServer, runTask: Task<Void, Never>) {
        self.port = port
        self.client = client
        self.server = server
        self.runTask = runTask
    }

    /// POSTs a review like the apiserver: JSON body, `?timeout=` from the webhook's timeoutSeconds.
    func post(_ body: [UInt8], path: String = "/mutate", timeout: String = "10s") async throws -> HTTPClientResponse {
        let request = HTTPClientRequest(
            method: "POST", url: "https://127.0.0.1:\(port)\(path)?timeout=\(timeout)",
            headers: ["Content-Type": "application/json", "Accept": "application/json, */*"], body: body)
        return try await client.execute(request, deadline: .now + .seconds(30))
    }

    /// Posts and decodes the AdmissionReview answer, checking the v1 contract on the way.
    func review(_ body: [UInt8], path: String = "/mutate", timeout: String = "10s") async throws -> ReviewAnswer {
        let response = try await post(body, path: path, timeout: timeout)
        guard response.status == 200 else {
            throw JSONPatchApplier.Failure(description: "HTTP \(response.status): \(String(decoding: response.body, as: UTF8.self))")
        }
        return try ReviewAnswer(response.body, request: body)
    }

    func stop() async {
        await client.shutdown()
        await server.shutdown(gracePeriod: .seconds(1))
        await runTask.value
    }

    static var quietLogger: Logger { TestLogging.quiet }
}

/// An AdmissionReview answer with the patch decoded and applied to the request's object.
struct ReviewAnswer {
    let body: JSONValue
    let patched: JSONValue
    let patch: JSONValue?

    init(_ bytes: [UInt8], request: [UInt8]) throws {
        body = try JSONValue.parse(bytes)
        let object = try Fixtures.object(request)
        if let encoded = body.at("/response/patch")?.stringValue {
            guard let data = Data(base64Encoded: encoded) else { throw JSONPatchApplier.Failure(description: "patch is not standard base64") }
            patch = try JSONValue.parse(Array(data))
            patched = try JSONPatchApplier.apply(patch: Array(data), to: object)
        } else {
            patch = nil
            patched = object
        }
    }

    var allowed: Bool { body.at("/response/allowed") == .bool(true) }
    var uid: String? { body.at("/response/uid")?.stringValue }
    var warnings: [String] { body.at("/response/warnings")?.arrayValue?.compactMap(\.stringValue) ?? [] }
    func image(_ pointer: String) -> String? { patched.at(pointer)?.stringValue }
}
