import Foundation
import KateNet

/// Produces the credentials for one request from `KubeAuth`: a static header, a re-read token
/// file, or an exec plugin's (cached) output. `canRefresh` says whether a 401 is worth one retry
/// with freshly read credentials.
final class CredentialProvider: Sendable {
    struct Credentials: Sendable {
        /// The `Authorization` header value, if any.
        var authorization: String?
        /// A client certificate from an exec plugin (overrides the configured one).
        var clientCertificate: (certificate: String, key: String)?
    }

    private enum Source: Sendable {
        case none
        case header(String)
        case tokenFile(TokenFileSource)
        case exec(ExecCredentialPlugin)
    }

    private let source: Source

    init(auth: KubeAuth, environment: [String: String] = ProcessInfo.processInfo.environment) {
        switch auth {
        case .none: source = .none
        case .token(let token): source = .header("Bearer \(token)")
        case .basic(let user, let password):
            source = .header(HTTPAuthorization.basic(user: user, password: password))
        case .tokenFile(let path): source = .tokenFile(TokenFileSource(path: path))
        case .exec(let config): source = .exec(ExecCredentialPlugin(config: config, environment: environment))
        }
    }

    var canRefresh: Bool {
        switch source {
        case .tokenFile, .exec: true
        case .none, .header: false
        }
    }

    func current(forceRefresh: Bool) async throws -> Credentials {
        switch source {
        case .none:
            return Credentials()
        case .header(let value):
            return Credentials(authorization: value)
        case .tokenFile(let file):
            return Credentials(authorization: "Bearer " + (try file.token(forceReload: forceRefresh)))
        case .exec(let plugin):
            let credential = try await plugin.credential(forceRefresh: forceRefresh)
            var result = Credentials(authorization: credential.token.map { "Bearer \($0)" })
            if let certificate = credential.clientCertificatePEM, let key = credential.clientKeyPEM {
                result.clientCertificate = (certificate, key)
            }
            return result
        }
    }

    /// The plugin behind `.exec`, for tests that count its runs.
    var execPlugin: ExecCredentialPlugin? {
        if case .exec(let plugin) = source { return plugin }
        return nil
    }
}
