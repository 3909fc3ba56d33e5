import Foundation

/// Per-registry transport settings, keyed by the registry as images name it (`ghcr.io`,
/// `registry.corp:5000`, `docker.io`). Loaded from `--registry-config` (JSON).
public struct RegistrySettings: Sendable, Equatable, Codable {
    /// Speak plain HTTP only. Without it kate uses HTTPS, and falls back to HTTP on its own only
    /// for loopback hosts (and `--insecure-registry` ones) whose HTTPS port answers in plain HTTP.
    public var plainHTTP: Bool
    /// Skip certificate verification. Explicit only, and logged at warning on every start.
    public var insecureSkipVerify: Bool
    /// Extra CA bundle (PEM file) trusted for this registry, on top of the system store.
    public var caFile: String?
    /// Hosts (`mirror.corp:5000`) asked first, in order; the registry itself is the last resort.
    public var mirrors: [String]
    /// Overrides the per-registry concurrency bound.
    public var maxConcurrentRequests: Int?

    public init(plainHTTP: Bool = false, insecureSkipVerify: Bool = false, caFile: String? = nil, mirrors: [String] = [], maxConcurrentRequests: Int? = nil) {
        self.plainHTTP = plainHTTP
        self.insecureSkipVerify = insecureSkipVerify
        self.caFile = caFile
        self.mirrors = mirrors
        self.maxConcurrentRequests = maxConcurrentRequests
    }

    enum CodingKeys: String, CodingKey { case plainHTTP, insecureSkipVerify, caFile, mirrors, maxConcurrentRequests }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        plainHTTP = try c.decodeIfPresent(Bool.self, forKey: .plainHTTP) ?? false
        insecureSkipVerify = try c.decodeIfPresent(Bool.self, forKey: .insecureSkipVerify) ?? false
        caFile = try c.decodeIfPresent(String.self, forKey: .caFile)
        mirrors = try c.decodeIfPresent([String].self, forKey: .mirrors) ?? []
        maxConcurrentRequests = try c.decodeIfPresent(Int.self, forKey: .maxConcurrentRequests)
    }
}

/// The `--registry-config` file: `{"registries": {"host": {…}}, "globalConcurrency": 128}`.
public struct RegistryConfigFile: Sendable, Equatable, Decodable {
    public var registries: [String: RegistrySettings]
    public var globalConcurrency: Int?

    public struct LoadError: Error, Sendable, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "registry config \(path): \(reason)" }
    }

    enum CodingKeys: String, CodingKey { case registries, globalConcurrency }

    public init(registries: [String: RegistrySettings] = [:], globalConcurrency: Int? = nil) {
        self.registries = registries
        self.globalConcurrency = globalConcurrency
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        registries = try c.decodeIfPresent([String: RegistrySettings].self, forKey: .registries) ?? [:]
        globalConcurrency = try c.decodeIfPresent(Int.self, forKey: .globalConcurrency)
    }

    public static func parse(json: [UInt8], path: String = "<inline>") throws -> RegistryConfigFile {
        do {
            let file = try JSONDecoder().decode(RegistryConfigFile.self, from: Data(json))
            for (host, settings) in file.registries where settings.plainHTTP && settings.insecureSkipVerify {
                throw LoadError(path: path, reason: "\(host): plainHTTP and insecureSkipVerify are exclusive (plain HTTP has no certificate)")
            }
            return file
        } catch let error as LoadError {
            throw error
        } catch let error as DecodingError {
            throw LoadError(path: path, reason: Self.explain(error))
        }
    }

    public static func load(path: String) throws -> RegistryConfigFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LoadError(path: path, reason: "cannot read the file")
        }
        return try parse(json: Array(data), path: path)
    }

    private static func explain(_ error: DecodingError) -> String {
        func at(_ path: [any CodingKey]) -> String { path.map(\.stringValue).joined(separator: ".") }
        switch error {
        case .typeMismatch(let type, let ctx): return "\(at(ctx.codingPath)): expected \(type)"
        case .valueNotFound(let type, let ctx): return "\(at(ctx.codingPath)): missing \(type)"
        case .keyNotFound(let key, let ctx): return "\(at(ctx.codingPath + [key])): missing"
        case .dataCorrupted(let ctx): return "invalid JSON \(at(ctx.codingPath)) \(ctx.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
