import Foundation
import Logging

/// Runs a client-go credential plugin (`users[].user.exec`) and caches what it prints until the
/// credential's `expirationTimestamp` (or until the server rejects it with a 401).
actor ExecCredentialPlugin {
    static let supportedAPIVersions: Set<String> = ["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"]

    struct Credential: Sendable, Equatable {
        var token: String?
        var clientCertificatePEM: String?
        var clientKeyPEM: String?
        var expiresAt: Date?
    }

    let config: ExecConfig
    private let environment: [String: String]
    private let timeout: Duration
    private var cached: Credential?
    private var inFlight: Task<Credential, any Error>?

    init(config: ExecConfig, environment: [String: String] = ProcessInfo.processInfo.environment, timeout: Duration = .seconds(60)) {
        self.config = config
        self.environment = environment
        self.timeout = timeout
    }

    /// A valid credential: the cached one unless it expires within 10 s or `forceRefresh` is set.
    /// Concurrent callers share one plugin run.
    func credential(forceRefresh: Bool = false) async throws -> Credential {
        if !forceRefresh, let cached, !(cached.expiresAt.map { $0.timeIntervalSinceNow < 10 } ?? false) {
            return cached
        }
        if forceRefresh { cached = nil }
        if let inFlight { return try await inFlight.value }
        let config = self.config, environment = self.environment, timeout = self.timeout
        let task = Task { try await Self.run(config: config, environment: environment, timeout: timeout) }
        inFlight = task
        defer { inFlight = nil }
        let credential = try await task.value
        cached = credential
        return credential
    }

    // MARK: - Running the plugin

    private static func run(config: ExecConfig, environment: [String: String], timeout: Duration) async throws -> Credential {
        let name = config.command
        if config.interactiveMode == "Always" {
            throw KubeError.credentials("exec plugin \(name) requires an interactive terminal (interactiveMode: Always), which kate never has")
        }
        guard let executable = locate(config.command, path: environment["PATH"]) else {
            let hint = config.installHint.map { "; \($0.trimmingCharacters(in: .whitespacesAndNewlines))" } ?? ""
            throw KubeError.credentials("exec plugin \(name) was not found (searched PATH)\(hint)")
        }
        var env = environment
        for variable in config.env { env[variable.name] = variable.value }
        env["KUBERNETES_EXEC_INFO"] = try execInfo(config)
        let output = try await ProcessRunner.run(executable: executable, arguments: config.args, environment: env, timeout: timeout)
        guard output.exitCode == 0 else {
            let stderr = String(decoding: output.stderr.suffix(600), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw KubeError.credentials("exec plugin \(name) exited with status \(output.exitCode)\(stderr.isEmpty ? "" : ": \(stderr)")")
        }
        return try parse(output.stdout, config: config)
    }

    /// `KUBERNETES_EXEC_INFO`: tells the plugin which API version to answer in, that no terminal is
    /// available, and (with provideClusterInfo) which cluster the credential is for.
    static func execInfo(_ config: ExecConfig) throws -> String {
        var spec: [String: Any] = ["interactive": false]
        if config.provideClusterInfo, let cluster = config.cluster {
            var info: [String: Any] = ["server": cluster.server]
            if let ca = cluster.certificateAuthorityData { info["certificate-authority-data"] = ca }
            if let name = cluster.tlsServerName { info["tls-server-name"] = name }
            if cluster.insecureSkipTLSVerify { info["insecure-skip-tls-verify"] = true }
            if let proxy = cluster.proxyURL { info["proxy-url"] = proxy }
            spec["cluster"] = info
        }
        let object: [String: Any] = ["apiVersion": config.apiVersion, "kind": "ExecCredential", "spec": spec]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    private struct Output: Decodable {
        struct Status: Decodable {
            var token: String?
            var clientCertificateData: String?
            var clientKeyData: String?
            var expirationTimestamp: String?
        }
        var apiVersion: String?
        var kind: String?
        var status: Status?
    }

    static func parse(_ stdout: [UInt8], config: ExecConfig) throws -> Credential {
        let name = config.command
        let output: Output
        do {
            output = try JSONDecoder().decode(Output.self, from: Data(stdout))
        } catch {
            throw KubeError.credentials("exec plugin \(name) did not print an ExecCredential as JSON: \(error)")
        }
        guard output.kind == "ExecCredential", output.apiVersion == config.apiVersion else {
            throw KubeError.credentials(
                "exec plugin \(name) answered kind \(output.kind ?? "none") apiVersion \(output.apiVersion ?? "none"), expected ExecCredential \(config.apiVersion)"
            )
        }
        guard let status = output.status else { throw KubeError.credentials("exec plugin \(name) printed an ExecCredential without status") }
        let token = status.token.flatMap { $0.isEmpty ? nil : $0 }
        let hasCertificate = !(status.clientCertificateData ?? "").isEmpty && !(status.clientKeyData ?? "").isEmpty
        guard token != nil || hasCertificate else {
            throw KubeError.credentials("exec plugin \(name) returned neither a token nor a client certificate and key")
        }
        var expiresAt: Date?
        if let stamp = status.expirationTimestamp, !stamp.isEmpty {
            guard let date = RFC3339.parse(stamp) else {
                throw KubeError.credentials("exec plugin \(name) returned an invalid expirationTimestamp \(stamp)")
            }
            expiresAt = date
        }
        return Credential(
            token: token, clientCertificatePEM: hasCertificate ? status.clientCertificateData : nil,
            clientKeyPEM: hasCertificate ? status.clientKeyData : nil, expiresAt: expiresAt
        )
    }

    /// `exec.LookPath`: a name with a slash is used as is; otherwise the first executable in PATH.
    static func locate(_ command: String, path: String?) -> String? {
        let fm = FileManager.default
        if command.contains("/") { return fm.isExecutableFile(atPath: command) ? command : nil }
        for directory in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = (String(directory) as NSString).appendingPathComponent(command)
            if fm.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
