import ArgumentParser
import Foundation
import KateAdmission
import KateNet
import KateRegistry
import Logging

/// Registry flags shared by `webhook` (through AdmissionOptions), `sweep` and `resolve`.
struct RegistryOptions: ParsableArguments {
    @Option(help: "Docker config with registry credentials (config.json or .dockercfg). Default: $DOCKER_CONFIG/config.json or ~/.docker/config.json if present. [env: KATE_DOCKER_CONFIG]")
    var dockerConfig: String?

    @Option(help: "Per-registry settings (JSON): CA files, plain HTTP, insecure TLS, mirrors. See examples/registry-config.json. [env: KATE_REGISTRY_CONFIG]")
    var registryConfig: String?

    // Optional flags take their environment variable when used, not as a property default:
    // ArgumentParser deprecates defaults on Optional options.
    private var effectiveDockerConfig: String? { dockerConfig ?? Environment.string("KATE_DOCKER_CONFIG") }
    private var effectiveRegistryConfig: String? { registryConfig ?? Environment.string("KATE_REGISTRY_CONFIG") }

    @Option(help: "How long a resolved digest is reused. [env: KATE_CACHE_TTL]")
    var cacheTtl: String = Environment.string("KATE_CACHE_TTL") ?? "5m"

    @Option(help: "How long a lookup answered 'tag not found', 'repository not found' or 'unauthorized' (401/403) is answered from memory without asking the registry again, per tag and set of credentials. Transport failures are remembered for 1s only; an unreachable registry is handled by its circuit breaker. [env: KATE_NEGATIVE_CACHE_TTL]")
    var negativeCacheTtl: String = Environment.string("KATE_NEGATIVE_CACHE_TTL") ?? "30s"

    @Option(name: .customLong("insecure-registry"), help: ArgumentHelp(
        "A registry (HOST or HOST:PORT, repeatable) that may be asked over plain HTTP when its HTTPS port turns out to speak HTTP. Loopback registries (localhost, 127.0.0.0/8, ::1) need no flag. Certificates are still verified when HTTPS works. [env: KATE_INSECURE_REGISTRY, comma-separated]",
        valueName: "host[:port]"))
    var insecureRegistries: [String] = Environment.list("KATE_INSECURE_REGISTRY") ?? []

    @Option(help: "Requests in flight to one registry. [env: KATE_REGISTRY_CONCURRENCY]")
    var registryConcurrency: Int = Environment.int("KATE_REGISTRY_CONCURRENCY") ?? 32

    @Option(help: "Longest a single image resolution may take, retries included. [env: KATE_REGISTRY_TIMEOUT]")
    var registryTimeout: String = Environment.string("KATE_REGISTRY_TIMEOUT") ?? "8s"

    func validate() throws {
        _ = try duration(cacheTtl, flag: "--cache-ttl", allowZero: true)
        _ = try duration(negativeCacheTtl, flag: "--negative-cache-ttl", allowZero: true)
        _ = try duration(registryTimeout, flag: "--registry-timeout", allowZero: false)
        for registry in insecureRegistries where !Self.isHostAndPort(registry) {
            throw ValidationError("--insecure-registry must be HOST or HOST:PORT, without scheme or path (got \(registry))")
        }
        guard registryConcurrency > 0 else {
            throw ValidationError("--registry-concurrency must be at least 1 (got \(registryConcurrency))")
        }
    }

    /// The resolver for this process: flags, the registry config file, proxies from the environment.
    func makeResolver(logger: Logger) throws -> Resolver {
        var configuration = ResolverConfiguration(
            cacheTTL: try duration(cacheTtl, flag: "--cache-ttl", allowZero: true),
            negativeCacheTTL: try duration(negativeCacheTtl, flag: "--negative-cache-ttl", allowZero: true),
            perRegistryConcurrency: registryConcurrency,
            requestTimeout: try duration(registryTimeout, flag: "--registry-timeout", allowZero: false),
            proxy: ProxyConfiguration.fromEnvironment(),
            userAgent: KateVersion.userAgent,
            insecureRegistries: Set(insecureRegistries))
        if let registryConfig = effectiveRegistryConfig {
            configuration.apply(try RegistryConfigFile.load(path: registryConfig))
        }
        return Resolver(configuration: configuration, logger: logger)
    }

    /// The mounted docker config as a one-source keyring (empty when there is none).
    func loadKeyring() throws -> Keyring {
        guard let path = dockerConfigPath else { return .empty }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("--docker-config \(path): cannot read the file")
        }
        do {
            let bytes = Array(data)
            let config = path.hasSuffix(".dockercfg") ? try DockerConfig.parseLegacy(json: bytes) : try DockerConfig.parse(json: bytes)
            return Keyring(sources: [(label: dockerConfigLabel, config: config)])
        } catch {
            throw ValidationError("--docker-config \(path): \(error)")
        }
    }

    /// How error messages name the mounted config ("docker config /etc/kate/config.json").
    var dockerConfigLabel: String { "docker config \(dockerConfigPath ?? "(none)")" }

    /// The explicit flag, else docker's own default location when it exists (handy for `kate resolve`).
    var dockerConfigPath: String? {
        if let dockerConfig = effectiveDockerConfig { return dockerConfig }
        let environment = ProcessInfo.processInfo.environment
        let directory = environment["DOCKER_CONFIG"] ?? environment["HOME"].map { $0 + "/.docker" }
        guard let candidate = directory.map({ $0 + "/config.json" }), FileManager.default.fileExists(atPath: candidate) else { return nil }
        return candidate
    }

    /// `registry.corp`, `registry.corp:5000`, `[::1]:5000`: no scheme, path or userinfo.
    static func isHostAndPort(_ text: String) -> Bool {
        guard !text.isEmpty, !text.contains("/"), !text.contains("@"), !text.contains(" ") else { return false }
        if text.hasPrefix("[") { return text.contains("]") }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, !parts[0].isEmpty else { return false }
        return parts.count == 1 || (Int(parts[1]).map { (1...65535).contains($0) } ?? false)
    }

    private func duration(_ text: String, flag: String, allowZero: Bool) throws -> Duration {
        guard let value = GoDuration.parse(text), value > .zero || (allowZero && value == .zero) else {
            throw ValidationError("\(flag) must be a duration like 30s, 5m or 1h30m (got \(text))")
        }
        return value
    }
}
