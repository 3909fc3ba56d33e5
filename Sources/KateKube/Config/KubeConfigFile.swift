import Foundation
import Yams

/// One kubeconfig file as written on disk (`clientcmdapi/v1.Config`), only the fields kate uses.
/// Relative paths are resolved against the file's directory right after parsing, before files are
/// merged, as kubectl does.
struct KubeConfigFile: Decodable, Sendable {
    struct NamedCluster: Decodable, Sendable { var name: String; var cluster: Cluster }
    struct NamedUser: Decodable, Sendable { var name: String; var user: User }
    struct NamedContext: Decodable, Sendable { var name: String; var context: Context }

    struct Cluster: Decodable, Sendable {
        var server: String?
        var certificateAuthority: String?
        var certificateAuthorityData: String?
        var tlsServerName: String?
        var insecureSkipTLSVerify: Bool?
        var proxyURL: String?

        enum CodingKeys: String, CodingKey {
            case server
            case certificateAuthority = "certificate-authority"
            case certificateAuthorityData = "certificate-authority-data"
            case tlsServerName = "tls-server-name"
            case insecureSkipTLSVerify = "insecure-skip-tls-verify"
            case proxyURL = "proxy-url"
        }
    }

    struct User: Decodable, Sendable {
        var token: String?
        var tokenFile: String?
        var clientCertificate: String?
        var clientCertificateData: String?
        var clientKey: String?
        var clientKeyData: String?
        var username: String?
        var password: String?
        var exec: Exec?
        /// Legacy in-tree providers (gcp, azure, oidc) were removed from client-go; kate reports them.
        var authProvider: AuthProvider?

        enum CodingKeys: String, CodingKey {
            case token, tokenFile, username, password, exec
            case clientCertificate = "client-certificate"
            case clientCertificateData = "client-certificate-data"
            case clientKey = "client-key"
            case clientKeyData = "client-key-data"
            case authProvider = "auth-provider"
        }
    }

    struct AuthProvider: Decodable, Sendable { var name: String? }

    struct Exec: Decodable, Sendable {
        struct Env: Decodable, Sendable { var name: String; var value: String }
        var apiVersion: String?
        var command: String?
        var args: [String]?
        var env: [Env]?
        var installHint: String?
        var provideClusterInfo: Bool?
        var interactiveMode: String?
    }

    struct Context: Decodable, Sendable {
        var cluster: String?
        var user: String?
        var namespace: String?
    }

    var clusters: [NamedCluster]?
    var users: [NamedUser]?
    var contexts: [NamedContext]?
    var currentContext: String?

    enum CodingKeys: String, CodingKey {
        case clusters, users, contexts
        case currentContext = "current-context"
    }

    /// Reads and parses `path`; an empty file is an empty config (kubectl accepts it).
    static func load(path: String) throws -> KubeConfigFile {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw KubeConfigError(.fileUnreadable, "cannot read the kubeconfig: \(error.localizedDescription)", file: path)
        }
        var file: KubeConfigFile
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            file = KubeConfigFile()
        } else {
            do {
                file = try YAMLDecoder().decode(KubeConfigFile.self, from: text)
            } catch {
                throw KubeConfigError(.invalidYAML, "the kubeconfig is not valid: \(Self.describe(error))", file: path)
            }
        }
        file.resolvePaths(relativeTo: (path as NSString).deletingLastPathComponent)
        return file
    }

    init() {}

    /// client-go's `ResolveLocalPaths`: file references are relative to the kubeconfig that holds
    /// them; an exec command is resolved only when it contains a slash (otherwise PATH decides).
    mutating func resolvePaths(relativeTo directory: String) {
        func resolve(_ path: String?) -> String? {
            guard let path, !path.isEmpty, !path.hasPrefix("/") else { return path }
            return ((directory.isEmpty ? "." : directory) as NSString).appendingPathComponent(path)
        }
        clusters = clusters?.map { named in
            var named = named
            named.cluster.certificateAuthority = resolve(named.cluster.certificateAuthority)
            return named
        }
        users = users?.map { named in
            var named = named
            named.user.clientCertificate = resolve(named.user.clientCertificate)
            named.user.clientKey = resolve(named.user.clientKey)
            named.user.tokenFile = resolve(named.user.tokenFile)
            if let command = named.user.exec?.command, command.contains("/") {
                named.user.exec?.command = resolve(command) ?? command
            }
            return named
        }
    }

    /// Yams' DecodingError descriptions are long; keep the part that names the key.
    private static func describe(_ error: any Error) -> String {
        if let decoding = error as? DecodingError {
            switch decoding {
            case .keyNotFound(let key, let context):
                return "missing \(Self.path(context.codingPath + [key]))"
            case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
                return "\(Self.path(context.codingPath)): \(context.debugDescription)"
            @unknown default:
                return String(describing: error)
            }
        }
        return String(describing: error)
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    }
}
