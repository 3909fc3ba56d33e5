import Foundation
import KateRegistry
import MetricsTestKit
import RegistryTestSupport
import Testing

private func secret(_ label: String, server: String, user: String, password: String) -> Keyring {
    Keyring(sources: [(label: label, config: DockerConfig(entries: [DockerConfig.Entry(server: server, username: user, password: password)]))])
}

@Suite("Resolver against a real docker-registry with HTTPS and auth")
struct AuthRegistryTests {
    @Test("htpasswd Basic auth over TLS: the right secret resolves, a wrong one and none are 401 naming what was checked")
    func basicAuth() async throws {
        try await TestRegistry.withRunning(.basicAuthTLS(user: "alice", password: "s3cr:et")) { registry in
            let pushed = try await registry.push(repository: "private/app", tag: "v1")
            let resolver = makeResolver(for: registry)
            let ref = try ImageReference.parse("\(registry.host)/private/app:v1")
            let good = secret("imagePullSecret team-a/regcred", server: registry.host, user: "alice", password: "s3cr:et")
            #expect(try await resolver.resolve(ref, keyring: good, deadline: soon()).digest == pushed)

            // A cached digest learned with team A's secret is not served to a pod without it.
            let wrong = secret("imagePullSecret team-b/regcred", server: registry.host, user: "alice", password: "nope")
                .appending(Keyring(sources: [(label: "docker config /etc/kate/config.json", config: .empty)]))
            await #expect { try await resolver.resolve(ref, keyring: wrong, deadline: soon()) } throws: { error in
                guard let error = error as? RegistryError, error.kind == .unauthorized else { return false }
                return error.description.contains("checked imagePullSecret team-b/regcred, docker config /etc/kate/config.json")
                    && error.description.contains("answered 401")
            }
            await #expect { try await resolver.resolve(ref, keyring: .empty, deadline: soon()) } throws: { error in
                guard let error = error as? RegistryError, error.kind == .unauthorized else { return false }
                return error.description.contains("no credentials matched")
            }
            // The secret that works keeps working (and now comes from the cache).
            #expect(try await resolver.resolve(ref, keyring: good, deadline: soon()).source == .cache)
        }
    }

    @Test("credentials are tried most specific first, falling through a failing one to one that works")
    func credentialOrder() async throws {
        try await TestRegistry.withRunning(.basicAuthTLS(user: "bob", password: "pw")) { registry in
            let pushed = try await registry.push(repository: "org/app", tag: "v1")
            let resolver = makeResolver(for: registry)
            let keyring = secret("stale secret", server: "\(registry.host)/org", user: "bob", password: "old")
                .appending(secret("good secret", server: "https://\(registry.host)/v2/", user: "bob", password: "pw"))
            let resolved = try await resolver.resolve(ImageReference.parse("\(registry.host)/org/app:v1"), keyring: keyring, deadline: soon())
            #expect(resolved.digest == pushed)
        }
    }

    @Test("token auth: a JWT from the token server, cached per scope and credential")
    func tokenAuth() async throws {
        try await TestRegistry.withRunning(.tokenAuthTLS(user: "carol", password: "tok-pw")) { registry in
            let tokenServer = try #require(registry.tokenServer)
            let v1 = try await registry.push(repository: "secure/app", tag: "v1")
            let v2 = try await registry.push(repository: "secure/app", tag: "v2")
            let resolver = makeResolver(for: registry)
            let keyring = registry.keyring(label: "imagePullSecret prod/pull")
            #expect(try await resolver.resolve(ImageReference.parse("\(registry.host)/secure/app:v1"), keyring: keyring, deadline: soon()).digest == v1)
            let tokensAfterFirst = tokenServer.requestCount
            #expect(tokensAfterFirst == 1)
            // Same repository, same credential: the cached token is sent up front (no 401 round trip, no new token).
            #expect(try await resolver.resolve(ImageReference.parse("\(registry.host)/secure/app:v2"), keyring: keyring, deadline: soon()).digest == v2)
            #expect(tokenServer.requestCount == tokensAfterFirst)
            let heads = try await registry.manifestRequests(repository: "secure/app").filter { $0.method == "HEAD" }
            #expect(
                heads.map(\.description).suffix(3) == [
                    "HEAD /v2/secure/app/manifests/v1 401", "HEAD /v2/secure/app/manifests/v1 200", "HEAD /v2/secure/app/manifests/v2 200",
                ])
            // Anonymous gets a token without access: still 401, and the message says nothing matched.
            await #expect { try await resolver.resolve(ImageReference.parse("\(registry.host)/secure/app:v1"), deadline: soon()) } throws: { error in
                (error as? RegistryError)?.kind == .unauthorized
            }
            // A wrong password is refused by the token endpoint.
            let wrong = Keyring(sources: [
                (label: "bad", config: DockerConfig(entries: [DockerConfig.Entry(server: registry.host, username: "carol", password: "x")]))
            ])
            await #expect { try await resolver.resolve(ImageReference.parse("\(registry.host)/secure/app:v2"), keyring: wrong, deadline: soon()) } throws: {
                error in
                guard let error = error as? RegistryError else { return false }
                return error.kind == .unauthorized && error.description.contains("token endpoint") && error.description.contains("checked bad")
            }
        }
    }

    @Test("a registry whose CA is not trusted fails TLS verification, naming the host")
    func untrustedCA() async throws {
        try await TestRegistry.withRunning(.basicAuthTLS(user: "u", password: "p")) { registry in
            let resolver = makeResolver { $0.maxRetries = 0 }
            await #expect {
                try await resolver.resolve(ImageReference.parse("\(registry.host)/app:v1"), keyring: registry.keyring(), deadline: soon())
            } throws: { error in
                guard let error = error as? RegistryError else { return false }
                return error.kind == .tls && error.description.contains("127.0.0.1") && error.description.contains("caFile")
            }
        }
    }

    @Test("one HTTPClient per distinct TLS configuration")
    func clientPerTLSConfiguration() async throws {
        try await TestRegistry.withRunning(.basicAuthTLS(user: "u", password: "p")) { a in
            try await TestRegistry.withRunning(.plainHTTP) { b in
                try await a.push(repository: "x", tag: "1")
                try await b.push(repository: "x", tag: "1")
                let resolver = makeResolver(for: a) { $0.registries[b.host] = b.settings }
                _ = try await resolver.resolve(ImageReference.parse("\(a.host)/x:1"), keyring: a.keyring(), deadline: soon())
                _ = try await resolver.resolve(ImageReference.parse("\(b.host)/x:1"), deadline: soon())
                _ = try await resolver.resolve(ImageReference.parse("\(b.host)/x:1"), deadline: soon())
                #expect(resolver.httpClientCount == 2)
            }
        }
    }
}
