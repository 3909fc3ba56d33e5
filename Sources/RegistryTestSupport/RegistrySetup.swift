import Foundation
import KateNet

/// Everything a test registry mode needs besides a port: certificates, the htpasswd file or the
/// token server, and the matching blocks of distribution 2.8's config.yml.
struct RegistrySetup: Sendable {
    var ca: CertificateAuthority?
    var tokenServer: TokenServer?
    private var tlsBlock = ""
    private var authBlock = ""

    static func prepare(_ mode: TestRegistry.Mode, directory: URL) async throws -> RegistrySetup {
        var setup = RegistrySetup()
        if mode != .plainHTTP {
            let ca = try CertificateAuthority.generate(commonName: "kate test registry CA")
            let serving = try ca.issue(commonName: "127.0.0.1", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"])
            try TestRegistry.write(serving.certificatePEM, to: directory, "registry.crt")
            try TestRegistry.write(serving.privateKeyPEM, to: directory, "registry.key")
            try TestRegistry.write(ca.certificatePEM, to: directory, "ca.crt")
            setup.ca = ca
            setup.tlsBlock = """

                  tls:
                    certificate: \(directory.path)/registry.crt
                    key: \(directory.path)/registry.key
                """
        }
        switch mode {
        case .plainHTTP:
            break
        case .basicAuthTLS(let user, let password):
            let line = try await Blocking.run { try Htpasswd.line(user: user, password: password) }
            try TestRegistry.write(line + "\n", to: directory, "htpasswd")
            setup.authBlock = """
                auth:
                  htpasswd:
                    realm: kate-test
                    path: \(directory.path)/htpasswd
                """
        case .tokenAuthTLS(let user, let password):
            guard let ca = setup.ca else { throw TestRegistry.SetupError(description: "token mode needs a CA") }
            // The registry trusts tokens whose x5c chain ends at this CA (rootcertbundle).
            let server = try await TokenServer.start(ca: ca, user: user, password: password, service: "kate-test-registry", issuer: "kate-test-issuer")
            setup.tokenServer = server
            setup.authBlock = """
                auth:
                  token:
                    realm: \(server.realm)
                    service: \(server.service)
                    issuer: \(server.issuer)
                    rootcertbundle: \(directory.path)/ca.crt
                """
        }
        return setup
    }

    /// config.yml: filesystem storage in the temp directory, deletes enabled (to delete tags), the
    /// access log on (tests count requests from it).
    func yaml(port: Int, directory: URL) -> String {
        """
        version: 0.1
        log:
          level: info
          formatter: text
          accesslog:
            disabled: false
        storage:
          filesystem:
            rootdirectory: \(directory.path)/data
          delete:
            enabled: true
        http:
          addr: 127.0.0.1:\(port)
          secret: kate-test-secret\(tlsBlock)
        \(authBlock)

        """
    }
}
