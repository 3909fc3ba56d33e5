import Foundation
import KateNet
import Logging
import Synchronization

/// A registry on 127.0.0.1 that serves one small OCI manifest for every `repository:tag`, and
/// misbehaves on demand: slow answers, 5xx, 429 with `Retry-After`. The real `docker-registry`
/// cannot be told to fail, and the registry module's scripted server may not exist yet; this one
/// runs on kate's own HTTP server, so the resolver talks to it over real sockets.
final class FaultyRegistry: Sendable {
    enum Behaviour: Sendable, Equatable {
        case serve
        /// Serves the manifest without `Docker-Content-Digest` (some proxies and older registries
        /// drop it), so the client must GET and hash the body itself.
        case serveWithoutDigestHeader
        case status(Int)
        case tooManyRequests(retryAfterSeconds: Int)
        /// Waits this long, then serves.
        case delay(Duration)
        /// No digest header, and a manifest body of this many bytes (past any sane limit).
        case oversizedManifest(bytes: Int)
    }

    fileprivate struct Script {
        /// Used first, one per manifest request.
        var queued: [Behaviour] = []
        /// Used once the queue is empty.
        var steady: Behaviour = .serve
        var manifestRequests = 0
    }

    /// The manifest every tag resolves to, and its digest (sha256 of these exact bytes).
    static let manifest = Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#.utf8)
    static let digest = "sha256:" + SHA256.hex(manifest)

    /// `127.0.0.1:PORT`, as an image reference names it.
    let host: String
    private let server: HTTPServer
    private let runTask: Task<Void, Never>
    private let state: RegistryState

    private init(host: String, server: HTTPServer, runTask: Task<Void, Never>, state: RegistryState) {
        self.host = host
        self.server = server
        self.runTask = runTask
        self.state = state
    }

    static func start(logger: Logger = Reliability.quietLogger) async throws -> FaultyRegistry {
        let state = RegistryState()
        let responder = ClosureResponder { request, _ in await state.respond(to: request) }
        let server = HTTPServer(configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0), tls: nil, responder: responder, logger: logger)
        let port = try await server.start()
        let runTask = Task { await server.run() }
        return FaultyRegistry(host: "127.0.0.1:\(port)", server: server, runTask: runTask, state: state)
    }

    func stop() async {
        await server.shutdown(gracePeriod: .milliseconds(200))
        await runTask.value
    }

    /// The next manifest requests get these behaviours, in order.
    func queue(_ behaviours: [Behaviour]) { state.script.withLock { $0.queued.append(contentsOf: behaviours) } }
    /// What every manifest request gets once the queue is used up.
    func setSteady(_ behaviour: Behaviour) { state.script.withLock { $0.steady = behaviour } }
    /// HEAD and GET requests for manifests answered so far.
    var manifestRequests: Int { state.script.withLock { $0.manifestRequests } }
}

/// The script, shared by the registry (which tests drive) and the server's responder closure.
private final class RegistryState: Sendable {
    let script = Mutex(FaultyRegistry.Script())

    func respond(to request: HTTPRequest) async -> HTTPResponse {
        let path = request.path
        if path == "/v2/" || path == "/v2" { return .json(200, Array("{}".utf8)) }
        guard path.hasPrefix("/v2/"), path.contains("/manifests/") else { return .text(404, "not a registry path") }
        let behaviour = script.withLock { script -> FaultyRegistry.Behaviour in
            script.manifestRequests += 1
            return script.queued.isEmpty ? script.steady : script.queued.removeFirst()
        }
        switch behaviour {
        case .serve:
            return Self.manifestResponse()
        case .serveWithoutDigestHeader:
            var response = Self.manifestResponse()
            response.headers.remove(name: "Docker-Content-Digest")
            return response
        case .status(let code):
            return .json(code, Array(#"{"errors":[{"code":"UNKNOWN","message":"injected failure"}]}"#.utf8))
        case .tooManyRequests(let seconds):
            var response = HTTPResponse.json(429, Array(#"{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}"#.utf8))
            response.headers.add(name: "Retry-After", value: String(seconds))
            return response
        case .delay(let duration):
            try? await Task.sleep(for: duration)
            return Self.manifestResponse()
        case .oversizedManifest(let bytes):
            return HTTPResponse(
                status: 200, headers: ["Content-Type": "application/vnd.oci.image.manifest.v1+json"],
                body: [UInt8](repeating: UInt8(ascii: " "), count: bytes))
        }
    }

    static func manifestResponse() -> HTTPResponse {
        HTTPResponse(
            status: 200,
            headers: ["Content-Type": "application/vnd.oci.image.manifest.v1+json", "Docker-Content-Digest": FaultyRegistry.digest],
            body: FaultyRegistry.manifest)
    }
}
