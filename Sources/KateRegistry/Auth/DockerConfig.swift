import Foundation

/// Credentials from a Docker config (`~/.docker/config.json`, a `kubernetes.io/dockerconfigjson`
/// Secret) or the legacy `.dockercfg` format (the `auths` map without its wrapper).
public struct DockerConfig: Sendable, Equatable {
    /// One `auths` entry. `auth` (base64 `user:pass`) has already been decoded into username/password.
    public struct Entry: Sendable, Equatable {
        /// The key exactly as written (`https://index.docker.io/v1/`, `ghcr.io`, `*.corp.example:5000`).
        public var server: String
        public var username: String?
        public var password: String?
        /// An OAuth2 refresh token (`identitytoken`), exchanged at the token realm.
        public var identityToken: String?
        /// A bearer token sent to the registry as-is (`registrytoken`).
        public var registryToken: String?

        public init(server: String, username: String? = nil, password: String? = nil, identityToken: String? = nil, registryToken: String? = nil) {
            self.server = server
            self.username = username
            self.password = password
            self.identityToken = identityToken
            self.registryToken = registryToken
        }

        var hasCredentials: Bool { username != nil || identityToken != nil || registryToken != nil }
    }

    public var entries: [Entry]

    public init(entries: [Entry]) { self.entries = entries }

    public static let empty = DockerConfig(entries: [])

    public enum ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        case notJSONObject(String)
        case invalidEntry(server: String, reason: String)
        case unsupportedSecretType(String)
        case missingSecretKey(type: String, key: String)
        case invalidBase64(String)

        public var description: String {
            switch self {
            case .notJSONObject(let what): "docker config is not a JSON object: \(what)"
            case .invalidEntry(let server, let reason): "docker config entry \"\(server)\": \(reason)"
            case .unsupportedSecretType(let type): "secret type \(type) is not kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg"
            case .missingSecretKey(let type, let key): "secret of type \(type) has no data key \(key)"
            case .invalidBase64(let what): "\(what) is not valid base64"
            }
        }
    }

    /// `{"auths": {"server": {…}}}`. Other top-level keys (credsStore, credHelpers) are ignored:
    /// kate cannot run credential helpers inside a distroless pod.
    public static func parse(json: [UInt8]) throws -> DockerConfig {
        let root = try jsonObject(json)
        guard let auths = root["auths"] else { return .empty }
        guard let map = auths as? [String: Any] else { throw ParseError.notJSONObject("\"auths\" is not an object") }
        return try DockerConfig(entries: entries(map))
    }

    /// The legacy `.dockercfg`: the `auths` map itself.
    public static func parseLegacy(json: [UInt8]) throws -> DockerConfig {
        let root = try jsonObject(json)
        // Some tools write the new format under the old name; accept both rather than fail.
        if let auths = root["auths"] as? [String: Any] { return try DockerConfig(entries: entries(auths)) }
        return try DockerConfig(entries: entries(root))
    }

    /// A Secret's `data` as the API returns it (values base64).
    public static func fromSecret(type: String, data: [String: String]) throws -> DockerConfig {
        let key: String
        switch type {
        case "kubernetes.io/dockerconfigjson": key = ".dockerconfigjson"
        case "kubernetes.io/dockercfg": key = ".dockercfg"
        default: throw ParseError.unsupportedSecretType(type)
        }
        guard let encoded = data[key] else { throw ParseError.missingSecretKey(type: type, key: key) }
        guard let bytes = Data(base64Encoded: encoded, options: .ignoreUnknownCharacters) else {
            throw ParseError.invalidBase64("secret data key \(key)")
        }
        return key == ".dockercfg" ? try parseLegacy(json: Array(bytes)) : try parse(json: Array(bytes))
    }

    private static func jsonObject(_ json: [UInt8]) throws -> [String: Any] {
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: Data(json))
        } catch {
            throw ParseError.notJSONObject("invalid JSON")
        }
        guard let object = value as? [String: Any] else { throw ParseError.notJSONObject("top level is not an object") }
        return object
    }

    private static func entries(_ map: [String: Any]) throws -> [Entry] {
        // Sorted so that a config always yields the same order (JSON objects are unordered).
        try map.keys.sorted().compactMap { server in
            guard let fields = map[server] as? [String: Any] else {
                throw ParseError.invalidEntry(server: server, reason: "value is not an object")
            }
            var entry = Entry(server: server)
            entry.username = nonEmpty(fields["username"])
            entry.password = nonEmpty(fields["password"])
            entry.identityToken = nonEmpty(fields["identitytoken"])
            entry.registryToken = nonEmpty(fields["registrytoken"])
            if let auth = nonEmpty(fields["auth"]) {
                // `auth` wins over username/password, as in docker and kubelet.
                let (user, pass) = try decodeAuth(auth, server: server)
                entry.username = user
                entry.password = pass
            }
            return entry.hasCredentials ? entry : nil
        }
    }

    /// base64(`user:pass`), split on the FIRST colon: passwords may contain colons, usernames not.
    static func decodeAuth(_ auth: String, server: String) throws -> (String, String) {
        guard let data = Data(base64Encoded: auth, options: .ignoreUnknownCharacters),
            let text = String(data: data, encoding: .utf8)
        else { throw ParseError.invalidEntry(server: server, reason: "\"auth\" is not base64 of user:password") }
        guard let colon = text.firstIndex(of: ":") else {
            throw ParseError.invalidEntry(server: server, reason: "\"auth\" decodes to a value without \":\" (expected user:password)")
        }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

    private static func nonEmpty(_ value: Any?) -> String? {
        guard let s = value as? String, !s.isEmpty else { return nil }
        return s
    }
}
