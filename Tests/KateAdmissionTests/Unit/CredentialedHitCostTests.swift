import Foundation
import KateAdmission
import KateContract
import KateKube
import KateRegistry
import Logging
import Testing

/// A cached review of credentialed images must not parse `auths` keys or hash credentials again:
/// that is done once, when a keyring is built (issue 13: it cost 20–40 µs per image).
@Suite("Credentialed cache hits: keys parsed and identities hashed once")
struct CredentialedHitCostTests {
    static let basic = DockerConfig.Entry(server: "https://127.0.0.1:5001/v2/", username: "basic-user", password: "basic-pass")
    static let token = DockerConfig.Entry(server: "127.0.0.1:5002", username: "token-user", password: "token-pass")

    /// 20 images over the two credentialed registries and one without credentials.
    static let images: [ImageReference] = (0..<20).map { index in
        let host = ["127.0.0.1:5001", "127.0.0.1:5002", "127.0.0.1:5003"][index % 3]
        return try! ImageReference.parse("\(host)/team/app\(index):v\(index)")
    }

    @Test("building a keyring parses each key and hashes each credential once; lookups and cache probes do neither")
    func noParsingOrHashingPerLookup() async throws {
        let building = KeyringInstrumentation()
        let keyring = KeyringInstrumentation.$current.withValue(building) {
            Keyring(sources: [(label: "docker config", config: DockerConfig(entries: [Self.basic, Self.token]))])
        }
        #expect(building.keyParses == 2)
        #expect(building.identityComputations == 2)

        let resolver = Resolver(logger: Logger(label: "test"))
        let lookups = KeyringInstrumentation()
        var matched = 0
        KeyringInstrumentation.$current.withValue(lookups) {
            for _ in 0..<50 {
                for image in Self.images {
                    let credentials = keyring.credentials(registry: image.registry, repository: image.repository)
                    matched += credentials.count
                    // The resolver's cache probe reads each candidate credential's identity.
                    _ = resolver.cached(image, keyring: keyring)
                }
            }
        }
        #expect(lookups.keyParses == 0)
        #expect(lookups.identityComputations == 0)
        // 7 images on :5001 and 7 on :5002 have one credential each; the 6 on :5003 none.
        #expect(matched == 50 * 14)
        let first = keyring.credentials(registry: "127.0.0.1:5001", repository: "team/app0")
        #expect(first.map(\.username) == ["basic-user"])
        #expect(keyring.credentials(registry: "127.0.0.1:5002", repository: "x").map(\.username) == ["token-user"])
        #expect(keyring.credentials(registry: "127.0.0.1:5003", repository: "x").isEmpty)
        // Combining keyrings reuses what was parsed.
        let combining = KeyringInstrumentation()
        let combined = KeyringInstrumentation.$current.withValue(combining) { keyring.appending(keyring).appending(.empty) }
        #expect(combining.keyParses == 0 && combining.identityComputations == 0)
        // The same credential twice is offered once.
        #expect(combined.credentials(registry: "127.0.0.1:5001", repository: "team/app").count == 1)
    }

    @Test("pull-secret keyrings are built once per cached secret, not once per review")
    func pullSecretKeyringsAreCachedBuilt() async throws {
        let api = PullSecretKeyringTests.FakeAPI(
            secrets: ["shop/regcred": DockerConfig(entries: [Self.basic])], accounts: ["shop/default": ["regcred"]])
        let node = Keyring(sources: [(label: "docker config", config: DockerConfig(entries: [Self.token]))])
        let keyrings = PullSecretKeychain(reader: api, node: node)
        let pod = PullSecretKeyringTests.pod(secrets: ["regcred"], serviceAccount: nil)
        let first = KeyringInstrumentation()
        _ = await KeyringInstrumentation.$current.withValue(first) {
            await keyrings.keyring(for: pod, namespace: "shop", deadline: .now + .seconds(5), logger: Logger(label: "test"))
        }
        #expect(first.keyParses == 1)
        #expect(first.identityComputations == 1)

        let later = KeyringInstrumentation()
        for _ in 0..<20 {
            let result = await KeyringInstrumentation.$current.withValue(later) {
                await keyrings.keyring(for: pod, namespace: "shop", deadline: .now + .seconds(5), logger: Logger(label: "test"))
            }
            #expect(result.keyring.credentials(registry: "127.0.0.1:5001", repository: "team/app").map(\.source) == ["imagePullSecret shop/regcred"])
        }
        #expect(later.keyParses == 0)
        #expect(later.identityComputations == 0)
    }

    @Test("image-side matching in place agrees with kubelet's rules on awkward registries", arguments: [
        ("REG.example.com:5000", "team/app", ["reg.example.com:5000"], true),
        ("reg.example.com:5000", "team/app", ["*.example.com:5000"], true),
        ("reg.example.com", "team/app", ["reg.example.com:443"], false),
        ("index.docker.io", "library/nginx", ["docker.io"], true),
        ("docker.io:443", "library/nginx", ["https://registry-1.docker.io/v1/"], true),
        ("docker.io", "library/nginx", ["*.io"], true),
        ("[::1]:5000", "app", ["[::1]:5000"], true),
        ("[::1]", "app", ["[::1]:5000"], false),
        ("a.b.c.d.e.f.g.h.i.example", "app", ["*.b.c.d.e.f.g.h.i.example"], true),
        ("reg.example.com", "team/app", ["reg.example.com/team/app/extra"], false),
        ("reg.example.com", "team/app", ["reg.example.com/team/app"], true),
        ("reg.example.com", "teams/app", ["reg.example.com/team"], false),
        ("reg.example.com", "team", ["reg.example.com//team/"], true),
    ])
    func inPlaceMatching(_ registry: String, _ repository: String, _ keys: [String], _ matches: Bool) {
        let keyring = Keyring(sources: [(label: "x", config: DockerConfig(entries: keys.map { DockerConfig.Entry(server: $0, username: "u", password: "p") }))])
        #expect(!keyring.credentials(registry: registry, repository: repository).isEmpty == matches)
    }
}
