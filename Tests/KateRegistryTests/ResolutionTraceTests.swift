import Foundation
import RegistryTestSupport
import Synchronization
import Testing

@testable import KateRegistry

private func secret(_ label: String, server: String, user: String, password: String) -> Keyring {
    Keyring(sources: [(label: label, config: DockerConfig(entries: [DockerConfig.Entry(server: server, username: user, password: password)]))])
}

private func trace<T: Sendable>(_ body: () async throws -> T) async -> (steps: [ResolutionStep], result: Result<T, any Error>) {
    await ResolutionTrace.recording(body)
}

@Suite("Resolution trace (kate resolve --explain) against a real docker-registry")
struct ResolutionTraceTests {
    @Test("without a recorder a hook builds nothing; with one it records the step")
    func noRecorderNoWork() async {
        let built = Mutex(0)
        func step() -> ResolutionStep {
            built.withLock { $0 += 1 }
            return .note("built")
        }
        ResolutionTrace.record(step())
        #expect(built.withLock { $0 } == 0)
        let recorded = await trace { ResolutionTrace.record(step()) }
        #expect(built.withLock { $0 } == 1)
        #expect(recorded.steps == [.note("built")])
    }

    @Test("a wrong Basic-auth secret: the trace names the secret, the key it matched, the challenge and the 401")
    func wrongBasicSecret() async throws {
        try await TestRegistry.withRunning(.basicAuthTLS(user: "alice", password: "right")) { registry in
            _ = try await registry.push(repository: "private/app", tag: "v1")
            let resolver = makeResolver(for: registry)
            let reference = try ImageReference.parse("\(registry.host)/private/app:v1")
            let keyring = secret("imagePullSecret team-a/regcred", server: registry.host, user: "alice", password: "wrong")
                .appending(secret("docker config /x", server: "ghcr.io", user: "u", password: "p"))
            let recorded = await trace { try await resolver.resolve(reference, keyring: keyring, deadline: soon()) }
            let steps = recorded.steps
            #expect(steps.first == .reference(original: reference.original, normalized: reference.description, endpoints: ["https://\(registry.host)"]))
            #expect(steps.contains(.credentials(sources: [
                CredentialSourceMatch(label: "imagePullSecret team-a/regcred", keys: [registry.host], matched: [registry.host]),
                CredentialSourceMatch(label: "docker config /x", keys: ["ghcr.io"], matched: []),
            ])))
            #expect(steps.contains(.cache(state: .miss, detail: nil)))
            #expect(steps.contains(.attempt(endpoint: registry.host, credential: "imagePullSecret team-a/regcred (\(registry.host))")))
            #expect(steps.contains(.attempt(endpoint: registry.host, credential: "anonymous")))
            #expect(steps.contains { if case .challenge(scheme: "basic", _, _, _) = $0 { true } else { false } })
            #expect(steps.contains { if case .request("HEAD", _, ManifestMediaType.accept, "Basic") = $0 { true } else { false } })
            #expect(steps.contains { if case .response("HEAD", _, 401, _) = $0 { true } else { false } })
            let error = try #require(recorded.result.failure as? RegistryError)
            #expect(error.failureClass == .auth)
            #expect(error.matchedSources == ["imagePullSecret team-a/regcred (\(registry.host))"])
            #expect(error.fix.hasPrefix("Check imagePullSecret team-a/regcred"))
            // The transcript a person reads says the same.
            let text = steps.flatMap(\.lines).joined(separator: "\n")
            #expect(text.contains("1. imagePullSecret team-a/regcred: keys \(registry.host); MATCHES \(registry.host)"))
            #expect(text.contains("← 401"))

            // The second ask is answered from memory, and the trace says so.
            let again = await trace { try await resolver.resolve(reference, keyring: keyring, deadline: soon()) }
            #expect(again.steps.contains { if case .cache(state: .negative, _) = $0 { true } else { false } })
            #expect(!again.steps.contains { if case .request = $0 { true } else { false } })
        }
    }

    @Test("token auth: the challenge's realm and service, the token request's scope and status, the digest header")
    func tokenAuth() async throws {
        try await TestRegistry.withRunning(.tokenAuthTLS(user: "carol", password: "tok-pw")) { registry in
            let tokenServer = try #require(registry.tokenServer)
            let pushed = try await registry.push(repository: "secure/app", tag: "v1")
            let resolver = makeResolver(for: registry)
            let reference = try ImageReference.parse("\(registry.host)/secure/app:v1")
            let recorded = await trace { try await resolver.resolve(reference, keyring: registry.keyring(label: "imagePullSecret prod/pull"), deadline: soon()) }
            #expect(try recorded.result.get().digest == pushed)
            #expect(recorded.steps.contains(.challenge(scheme: "bearer", realm: tokenServer.realm, service: tokenServer.service, error: nil)))
            #expect(recorded.steps.contains(.token(
                realm: tokenServer.realm, service: tokenServer.service, scope: "repository:secure/app:pull",
                credential: "imagePullSecret prod/pull (\(registry.host))", status: 200, cached: false)))
            #expect(recorded.steps.contains { step in
                guard case .response("HEAD", _, 200, let headers) = step else { return false }
                return headers.contains(HeaderField(name: "Docker-Content-Digest", value: pushed))
            })
            // A cache hit asks nobody.
            let hit = await trace { try await resolver.resolve(reference, keyring: registry.keyring(label: "imagePullSecret prod/pull"), deadline: soon()) }
            #expect(hit.steps.contains(.cache(state: .hit, detail: nil)))
            #expect(!hit.steps.contains { if case .request = $0 { true } else { false } })
        }
    }

    @Test("token auth with a wrong password: the token endpoint's 401 is in the trace, the class is auth, the fix names the secret")
    func tokenWrongPassword() async throws {
        try await TestRegistry.withRunning(.tokenAuthTLS(user: "carol", password: "tok-pw")) { registry in
            let tokenServer = try #require(registry.tokenServer)
            _ = try await registry.push(repository: "secure/app", tag: "v1")
            let resolver = makeResolver(for: registry)
            let keyring = secret("imagePullSecret prod/pull", server: registry.host, user: "carol", password: "wrong")
            let recorded = await trace { try await resolver.resolve(ImageReference.parse("\(registry.host)/secure/app:v1"), keyring: keyring, deadline: soon()) }
            #expect(recorded.steps.contains(.token(
                realm: tokenServer.realm, service: tokenServer.service, scope: "repository:secure/app:pull",
                credential: "imagePullSecret prod/pull (\(registry.host))", status: 401, cached: false)))
            let error = try #require(recorded.result.failure as? RegistryError)
            #expect(error.failureClass == .auth, "\(error)")
            #expect(error.description.contains("token endpoint") && error.fix.hasPrefix("Check imagePullSecret prod/pull"), "\(error)")
        }
    }

    @Test("Docker Hub's ratelimit-* headers and a 429's Retry-After are in the trace; a 429 is class ratelimited")
    func rateLimitHeaders() async throws {
        let digest = "sha256:" + String(repeating: "a", count: 64)
        let headers = [("Docker-Content-Digest", digest), ("ratelimit-limit", "100;w=21600"), ("ratelimit-remaining", "0;w=21600"), ("docker-ratelimit-source", "203.0.113.7")]
        try await ScriptedHTTPServer.withRunning({ _, path, _ in
            path.hasSuffix("/v1") ? .init(status: 200, headers: headers) : .init(status: 429, headers: [("Retry-After", "3600")])
        }) { server in
            let resolver = makeResolver(scripted: [server.host]) { $0.retryBaseDelay = .milliseconds(1) }
            let first = await trace { try await resolver.resolve(ImageReference.parse("\(server.host)/app:v1"), deadline: soon()) }
            let resolved = try first.result.get()
            #expect(resolved.digest == digest)
            #expect(first.steps.contains { step in
                guard case .response("HEAD", _, 200, let seen) = step else { return false }
                return seen.map(\.name) == ["Docker-Content-Digest", "ratelimit-limit", "ratelimit-remaining", "docker-ratelimit-source"]
            })
            let limited = await trace { try await resolver.resolve(ImageReference.parse("\(server.host)/app:v2"), deadline: soon(3)) }
            #expect(limited.steps.contains { step in
                guard case .response(_, _, 429, let seen) = step else { return false }
                return seen.contains(HeaderField(name: "Retry-After", value: "3600"))
            })
            #expect((limited.result.failure as? RegistryError)?.failureClass == .ratelimited, "\(limited.result)")
        }
    }

    @Test("an index's platform manifests, with their platforms; --platform matching as crane does")
    func platforms() async throws {
        try await TestRegistry.withRunning(.plainHTTP) { registry in
            let pushed = try await registry.pushIndex(repository: "multi/app", tag: "v1", platforms: ["linux/amd64", "linux/arm64/v8"])
            let resolver = makeResolver(for: registry)
            let reference = try ImageReference.parse("\(registry.host)/multi/app:v1")
            let recorded = await trace { try await resolver.platformManifests(reference, indexDigest: pushed.index, keyring: .empty, deadline: soon()) }
            let manifests = try recorded.result.get()
            #expect(manifests.map(\.digest) == pushed.children)
            #expect(manifests.map(\.platform) == ["linux/amd64", "linux/arm64/v8"])
            #expect(recorded.steps.contains(.platforms(index: pushed.index, manifests: manifests)))
            let arm = try #require(PlatformSpec("linux/arm64"))
            #expect(manifests.first { $0.satisfies(arm) }?.digest == pushed.children[1])
            #expect(manifests.first { $0.satisfies(try! #require(PlatformSpec("linux/arm64/v7"))) } == nil)
            #expect(PlatformSpec("linux") == nil && PlatformSpec("linux/amd64/v1/x") == nil && PlatformSpec("linux//v8") == nil)
        }
    }

    @Test("Docker Hub: the rewrite to docker.io/library/… and the endpoints asked, a mirror first")
    func dockerHubRewrite() async throws {
        try await TestRegistry.withRunning(.plainHTTP) { mirror in
            let pushed = try await mirror.push(repository: "library/nginx", tag: "1.27")
            let resolver = makeResolver(for: mirror) { $0.registries["docker.io"] = RegistrySettings(mirrors: [mirror.host]) }
            let recorded = await trace { try await resolver.resolve(ImageReference.parse("nginx:1.27"), deadline: soon()) }
            #expect(try recorded.result.get().digest == pushed)
            #expect(recorded.steps.first == .reference(
                original: "nginx:1.27", normalized: "docker.io/library/nginx:1.27",
                endpoints: ["http://\(mirror.host) (mirror)", "https://registry-1.docker.io"]))
            #expect(recorded.steps.first?.lines.first?.contains("nginx:1.27 → docker.io/library/nginx:1.27") == true)
            #expect(recorded.steps.contains(.attempt(endpoint: mirror.host, credential: "anonymous")))
        }
    }

    @Test("the trace encodes as JSON, one object per step, the class as its taxonomy name")
    func json() throws {
        let steps: [ResolutionStep] = [
            .cache(state: .circuitOpen, detail: "down"),
            .verdict(.init(failureClass: .badReference, message: "m", fix: "f")),
        ]
        let text = String(decoding: try JSONEncoder().encode(steps), as: UTF8.self)
        #expect(text.contains(#""state":"circuit-open""#))
        #expect(text.contains(#""class":"bad-reference""#))
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
