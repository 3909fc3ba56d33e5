import Foundation
import KateNet
import KateRegistry

/// A real registry (Debian's `/usr/bin/docker-registry`, distribution 2.8) on 127.0.0.1:<ephemeral>,
/// with its storage and config in a temporary directory. Killed by `stop()` or when released.
public final class TestRegistry: Sendable {
    public enum Mode: Sendable, Equatable {
        /// Plain HTTP, no auth.
        case plainHTTP
        /// HTTPS with a test CA and htpasswd Basic auth.
        case basicAuthTLS(user: String, password: String)
        /// HTTPS with token auth, tokens from a `TokenServer` in this process.
        case tokenAuthTLS(user: String, password: String)
    }

    public struct SetupError: Error, CustomStringConvertible {
        public let description: String
    }

    public static let binary = "/usr/bin/docker-registry"

    public let mode: Mode
    /// `127.0.0.1:PORT`, as an image reference names it.
    public let host: String
    public let port: Int
    /// The test CA (TLS modes): trust it to talk to the registry and the token server.
    public let caPEM: String?
    /// The same CA as a file, for `RegistrySettings.caFile`.
    public let caFile: String?
    public let tokenServer: TokenServer?
    let directory: URL
    let logFile: URL
    let process: ChildProcess
    let client: HTTPClient
    let marker = RequestCounter()

    public var scheme: String { caPEM == nil ? "http" : "https" }
    public var baseURL: String { "\(scheme)://\(host)" }

    /// Registry settings a `Resolver` needs to reach this registry.
    public var settings: RegistrySettings {
        caFile == nil ? RegistrySettings(plainHTTP: true) : RegistrySettings(caFile: caFile)
    }

    /// A keyring holding this registry's credentials (empty for `.plainHTTP`).
    public func keyring(label: String = "test docker config") -> Keyring {
        switch mode {
        case .plainHTTP: return .empty
        case .basicAuthTLS(let user, let password), .tokenAuthTLS(let user, let password):
            let entry = DockerConfig.Entry(server: host, username: user, password: password)
            return Keyring(sources: [(label: label, config: DockerConfig(entries: [entry]))])
        }
    }

    /// - Parameter binary: the registry executable; a missing one fails the test (never a skip),
    ///   naming the script that installs it.
    public static func start(_ mode: Mode = .plainHTTP, binary: String = TestRegistry.binary) async throws -> TestRegistry {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw SetupError(description: "\(binary) is missing: run scripts/install-deps.sh (installs Debian's docker-registry, distribution 2.8)")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kate-registry-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        do {
            return try await launch(mode, binary: binary, directory: directory)
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    private static func launch(_ mode: Mode, binary: String, directory: URL) async throws -> TestRegistry {
        let setup = try await RegistrySetup.prepare(mode, directory: directory)
        var lastError: (any Error)?
        // A port picked by binding :0 can be taken again before the registry binds it: retry.
        for _ in 0..<5 {
            let port = try FreePort.pick()
            try write(setup.yaml(port: port, directory: directory), to: directory, "config.yml")
            let logFile = directory.appendingPathComponent("registry-\(port).log")
            let process = try ChildProcess(
                executable: binary, arguments: ["serve", directory.appendingPathComponent("config.yml").path],
                environment: ["PATH": "/usr/bin:/bin", "HOME": directory.path], outputPath: logFile.path)
            var tls = TLSClientConfiguration(useSystemTrustStore: false)
            if let ca = setup.ca { tls.additionalTrustRoots = [.pem(ca.certificatePEM)] }
            let client = HTTPClient(configuration: .init(tls: tls, connectTimeout: .seconds(2)), logger: testLogger("test-registry-client"))
            let registry = TestRegistry(
                mode: mode, port: port, ca: setup.ca, tokenServer: setup.tokenServer, directory: directory, logFile: logFile,
                process: process, client: client)
            do {
                try await registry.waitUntilReady(deadline: .now + .seconds(20))
                return registry
            } catch {
                lastError = error
                await Blocking.run { process.terminate() }
                await client.shutdown()
                if !registry.log.contains("address already in use") { break }
            }
        }
        await setup.tokenServer?.stop()
        throw lastError ?? SetupError(description: "docker-registry did not start")
    }

    private init(mode: Mode, port: Int, ca: CertificateAuthority?, tokenServer: TokenServer?, directory: URL, logFile: URL, process: ChildProcess, client: HTTPClient) {
        self.mode = mode
        self.port = port
        self.host = "127.0.0.1:\(port)"
        self.caPEM = ca?.certificatePEM
        self.caFile = ca == nil ? nil : directory.appendingPathComponent("ca.crt").path
        self.tokenServer = tokenServer
        self.directory = directory
        self.logFile = logFile
        self.process = process
        self.client = client
    }

    /// Kills the registry, stops the token server, removes the temporary directory.
    public func stop() async {
        await Blocking.run { [process] in process.terminate() }
        await client.shutdown()
        await tokenServer?.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// The registry's own log so far (its access log lines show every request).
    public var log: String {
        (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
    }

    /// Waits for `/v2/` to answer (200, or 401 when auth is on).
    private func waitUntilReady(deadline: ContinuousClock.Instant) async throws {
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                throw SetupError(description: "docker-registry exited during startup:\n\(log.suffix(2000))")
            }
            if let response = try? await client.execute(HTTPClientRequest(method: "GET", url: baseURL + "/v2/"), deadline: .now + .seconds(1)),
                response.status == 200 || response.status == 401
            {
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw SetupError(description: "docker-registry did not answer /v2/ within 20 s:\n\(log.suffix(2000))")
    }

    static func write(_ text: String, to directory: URL, _ name: String) throws {
        try Data(text.utf8).write(to: directory.appendingPathComponent(name))
    }
}

/// A free loopback port: bind :0, read the port, close. Racy by nature; callers retry on collision.
enum FreePort {
    static func pick() throws -> Int {
        let listener = try TCPListener(host: "127.0.0.1", port: 0)
        defer { listener.close() }
        return listener.localPort
    }
}
