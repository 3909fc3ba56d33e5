import Foundation
import KateNet
import KateRegistry
import RegistryTestSupport

/// What the servers under test are pointed at: three real `docker-registry` instances (plain HTTP
/// without auth; HTTPS with htpasswd Basic auth; HTTPS with token auth and its token server), 20
/// pushed images on each, the docker config and registry config a user would mount, and one
/// serving certificate both webhooks use.
struct BenchFixtures {
    let anonymous: TestRegistry
    let basic: TestRegistry
    let token: TestRegistry
    let directory: URL
    let anonymousImages: [String]
    /// Alternating between the Basic and the token registry.
    let credentialedImages: [String]
    /// image → digest, for the Go baseline's fixed answers.
    let digests: [String: String]
    let dockerConfig: String
    let registryConfig: String
    let certFile: String
    let keyFile: String
    let caPEM: String

    static let imagesPerRegistry = 20

    static func start(directory: URL) async throws -> BenchFixtures {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let anonymous = try await TestRegistry.start(.plainHTTP)
        let basic = try await TestRegistry.start(.basicAuthTLS(user: "bench-basic", password: "basic-secret"))
        let token = try await TestRegistry.start(.tokenAuthTLS(user: "bench-token", password: "token-secret"))
        var digests: [String: String] = [:]
        var anonymousImages: [String] = [], credentialedImages: [String] = []
        for index in 0..<imagesPerRegistry {
            let repository = "bench/app\(index)", tag = "v\(index).1"
            let plain = "\(anonymous.host)/\(repository):\(tag)"
            digests[plain] = try await anonymous.push(repository: repository, tag: tag)
            anonymousImages.append(plain)
            let registry = index % 2 == 0 ? basic : token
            let private_ = "\(registry.host)/\(repository):\(tag)"
            digests[private_] = try await registry.push(repository: repository, tag: tag)
            credentialedImages.append(private_)
        }

        func auth(_ user: String, _ password: String) -> String { Data("\(user):\(password)".utf8).base64EncodedString() }
        let dockerConfig = directory.appendingPathComponent("docker-config.json")
        try JSONSerialization.data(withJSONObject: ["auths": [
            basic.host: ["auth": auth("bench-basic", "basic-secret")],
            token.host: ["auth": auth("bench-token", "token-secret")],
        ]]).write(to: dockerConfig)

        // The token realm is another host (the token server), served with the same test CA.
        guard let realm = token.tokenServer?.realm, let realmHost = URL(string: realm).map({ "\($0.host ?? ""):\($0.port ?? 443)" }) else {
            throw BenchReview.Failure(description: "token registry without a token server")
        }
        let registryConfig = directory.appendingPathComponent("registry-config.json")
        try JSONSerialization.data(withJSONObject: ["registries": [
            anonymous.host: ["plainHTTP": true],
            basic.host: ["caFile": basic.caFile ?? ""],
            token.host: ["caFile": token.caFile ?? ""],
            realmHost: ["caFile": token.caFile ?? ""],
        ]]).write(to: registryConfig)

        let ca = try CertificateAuthority.generate(commonName: "bench-admission CA")
        let leaf = try ca.issue(commonName: "kate.kate-system.svc", dnsNames: ["kate.kate-system.svc", "localhost"], ipAddresses: ["127.0.0.1"])
        let certFile = directory.appendingPathComponent("tls.crt"), keyFile = directory.appendingPathComponent("tls.key")
        try Data(leaf.certificatePEM.utf8).write(to: certFile)
        try Data(leaf.privateKeyPEM.utf8).write(to: keyFile)
        return BenchFixtures(
            anonymous: anonymous, basic: basic, token: token, directory: directory, anonymousImages: anonymousImages,
            credentialedImages: credentialedImages, digests: digests, dockerConfig: dockerConfig.path, registryConfig: registryConfig.path,
            certFile: certFile.path, keyFile: keyFile.path, caPEM: ca.certificatePEM)
    }

    func stop() async {
        await anonymous.stop()
        await basic.stop()
        await token.stop()
    }
}
