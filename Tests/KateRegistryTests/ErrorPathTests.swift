import Foundation
import KateNet
import KateRegistry
import MetricsTestKit
import RegistryTestSupport
import Testing

private let manifestBody = Array(#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{},"layers":[]}"#.utf8)
private let manifestDigest = "sha256:" + SHA256.hex(manifestBody)

private func ok(_ headers: [(String, String)] = [("Docker-Content-Digest", manifestDigest)], body: [UInt8] = []) -> ScriptedHTTPServer.Reply {
    .init(status: 200, headers: [("Content-Type", ManifestMediaType.dockerManifest)] + headers, body: body)
}

@Suite("Registry error paths (scripted server)")
struct ErrorPathTests {
    @Test("429 with Retry-After is waited out, then the answer is used")
    func retryAfter() async throws {
        try await ScriptedHTTPServer.withRunning({ method, _, index in
            index == 0 ? .init(status: 429, headers: [("Retry-After", "1")]) : ok()
        }) { server in
            let started = ContinuousClock.now
            let resolved = try await makeResolver(scripted: [server.host]).resolve(ImageReference.parse("\(server.host)/app:v1"), deadline: soon())
            #expect(resolved.digest == manifestDigest)
            #expect(ContinuousClock.now - started >= .milliseconds(950))
            #expect(server.requests.map(\.method) == ["HEAD", "HEAD"])
        }
    }

    @Test("a Retry-After beyond the deadline fails now with .rateLimited and the wait")
    func retryAfterBeyondDeadline() async throws {
        try await ScriptedHTTPServer.withRunning({ _, _, _ in
            .init(status: 429, headers: [("Retry-After", "120")], body: Array(#"{"errors":[{"code":"TOOMANYREQUESTS"}]}"#.utf8))
        }) { server in
            let started = ContinuousClock.now
            await #expect {
                try await makeResolver(scripted: [server.host]).resolve(ImageReference.parse("\(server.host)/app:v1"), deadline: soon(5))
            } throws: { error in
                guard let error = error as? RegistryError else { return false }
                return error.kind == .rateLimited && error.retryAfter == .seconds(120) && error.description.contains("retry after 120s")
            }
            #expect(ContinuousClock.now - started < .seconds(10))
        }
    }

    @Test("500 then 200: retried with backoff")
    func serverErrorThenSuccess() async throws {
        try await ScriptedHTTPServer.withRunning({ _, _, index in index < 2 ? .init(status: 500) : ok() }) { server in
            let metrics = TestMetrics()
            let resolved = try await makeResolver(scripted: [server.host], metrics: metrics).resolve(
                ImageReference.parse("\(server.host)/app:v1"), deadline: soon())
            #expect(resolved.digest == manifestDigest)
            #expect(server.requests.count == 3)
            #expect(
                metrics.counterTotal(label: "kate_registry_requests_total", dimensions: [("registry", server.host), ("method", "HEAD"), ("code", "500")]) == 2)
        }
    }

    @Test("HEAD without Docker-Content-Digest falls back to GET and hashes the exact body")
    func headWithoutDigest() async throws {
        try await ScriptedHTTPServer.withRunning({ method, _, _ in
            method == "HEAD" ? ok([]) : ok([], body: manifestBody)
        }) { server in
            let resolved = try await makeResolver(scripted: [server.host]).resolve(ImageReference.parse("\(server.host)/app:v1"), deadline: soon())
            #expect(resolved.digest == manifestDigest)
            #expect(server.requests.map(\.method) == ["HEAD", "GET"])
            #expect(server.requests.allSatisfy { $0.accept == ManifestMediaType.accept })
        }
    }

    @Test("a GET body that does not match its Docker-Content-Digest is an error")
    func bodyDigestMismatch() async throws {
        let wrong = "sha256:" + String(repeating: "0", count: 64)
        try await ScriptedHTTPServer.withRunning({ method, _, _ in
            method == "HEAD" ? .init(status: 405) : ok([("Docker-Content-Digest", wrong)], body: manifestBody)
        }) { server in
            await #expect { try await makeResolver(scripted: [server.host]).resolve(ImageReference.parse("\(server.host)/app:v1"), deadline: soon()) } throws: {
                error in
                guard let error = error as? RegistryError else { return false }
                return error.kind == .invalidResponse && error.description.contains(wrong) && error.description.contains(manifestDigest)
            }
        }
    }

    @Test("a slow registry times out at the deadline, naming the request that got no answer")
    func slowRegistry() async throws {
        try await ScriptedHTTPServer.withRunning({ _, _, _ in ok([], body: []).delayed(by: .seconds(10)) }) { server in
            let started = ContinuousClock.now
            await #expect {
                try await makeResolver(scripted: [server.host]).resolve(ImageReference.parse("\(server.host)/app:v1"), deadline: .now + .seconds(1))
            } throws: { error in
                guard let error = error as? RegistryError else { return false }
                return error.kind == .timeout
                    && error.description.contains("no response to HEAD http://\(server.host)/v2/app/manifests/v1 within ")
            }
            #expect(ContinuousClock.now - started < .seconds(5))
        }
    }

    @Test("a caller sharing a hung lookup reports the step it hung at, not 'waiting for a concurrent lookup'")
    func sharedHungLookup() async throws {
        try await ScriptedHTTPServer.withRunning({ _, _, _ in ok([], body: []).delayed(by: .seconds(10)) }) { server in
            let resolver = makeResolver(scripted: [server.host])
            let reference = try ImageReference.parse("\(server.host)/app:v1")
            // The first caller has a long deadline; the second joins its lookup and gives up first.
            let first = Task { try? await resolver.resolve(reference, deadline: .now + .seconds(3)) }
            try await Task.sleep(for: .milliseconds(100))
            await #expect {
                try await resolver.resolve(reference, deadline: .now + .milliseconds(400))
            } throws: { error in
                guard let error = error as? RegistryError else { return false }
                return error.kind == .timeout && !error.description.contains("concurrent")
                    && error.description.contains("no response to HEAD http://\(server.host)/v2/app/manifests/v1 within ")
            }
            first.cancel()
            _ = await first.value
        }
    }

    @Test(
        "404 NAME_UNKNOWN is an unknown repository, MANIFEST_UNKNOWN an unknown tag",
        arguments: [
            ("NAME_UNKNOWN", RegistryError.Kind.repositoryNotFound), ("MANIFEST_UNKNOWN", .tagNotFound),
        ])
    func notFound(code: String, kind: RegistryError.Kind) async throws {
        try await ScriptedHTTPServer.withRunning({ _, _, _ in
            .init(status: 404, headers: [("Content-Type", "application/json")], body: Array(#"{"errors":[{"code":"\#(code)","message":"x"}]}"#.utf8))
        }) { server in
            await #expect { try await makeResolver(scripted: [server.host]).resolve(ImageReference.parse("\(server.host)/app:v1"), deadline: soon()) } throws: {
                error in
                (error as? RegistryError)?.kind == kind
            }
        }
    }

    @Test("Docker Hub's ratelimit-remaining and ratelimit-limit are exported as gauges")
    func rateLimitGauge() async throws {
        let headers = [("Docker-Content-Digest", manifestDigest), ("ratelimit-limit", "100;w=21600"), ("ratelimit-remaining", "42;w=21600")]
        try await ScriptedHTTPServer.withRunning({ _, _, _ in ok(headers) }) {
            server in
            let metrics = TestMetrics()
            _ = try await makeResolver(scripted: [server.host], metrics: metrics).resolve(ImageReference.parse("\(server.host)/app:v1"), deadline: soon())
            #expect(try metrics.expectGauge("kate_registry_ratelimit_remaining", [("registry", server.host)]).lastValue == 42)
            #expect(try metrics.expectGauge("kate_registry_ratelimit_limit", [("registry", server.host)]).lastValue == 100)
        }
    }

    @Test("a registry that sends no ratelimit-limit exports no limit gauge")
    func rateLimitWithoutLimit() async throws {
        try await ScriptedHTTPServer.withRunning({ _, _, _ in ok([("Docker-Content-Digest", manifestDigest), ("ratelimit-remaining", "7")]) }) {
            server in
            let metrics = TestMetrics()
            _ = try await makeResolver(scripted: [server.host], metrics: metrics).resolve(ImageReference.parse("\(server.host)/app:v1"), deadline: soon())
            #expect(try metrics.expectGauge("kate_registry_ratelimit_remaining", [("registry", server.host)]).lastValue == 7)
            #expect(throws: (any Error).self) { try metrics.expectGauge("kate_registry_ratelimit_limit", [("registry", server.host)]) }
        }
    }

    @Test("Authorization is dropped on a cross-host redirect")
    func redirectDropsAuthorization() async throws {
        try await ScriptedHTTPServer.withRunning({ _, _, _ in ok() }) { target in
            try await ScriptedHTTPServer.withRunning({ _, _, index in
                index == 0
                    ? .init(status: 401, headers: [("WWW-Authenticate", #"Basic realm="test""#)])
                    : .init(status: 307, headers: [("Location", "http://\(target.host)/v2/app/manifests/v1")])
            }) { origin in
                let keyring = Keyring(sources: [
                    (label: "s", config: DockerConfig(entries: [DockerConfig.Entry(server: origin.host, username: "u", password: "p")]))
                ])
                let resolved = try await makeResolver(scripted: [origin.host, target.host]).resolve(
                    ImageReference.parse("\(origin.host)/app:v1"), keyring: keyring, deadline: soon())
                #expect(resolved.digest == manifestDigest)
                #expect(origin.requests.map { $0.authorization != nil } == [false, true])
                #expect(target.requests.map(\.authorization) == [nil])
            }
        }
    }

    @Test("credentials are not sent to a plain-http token realm on another host")
    func plainRealmOnAnotherHost() async throws {
        try await ScriptedHTTPServer.withRunning({ _, _, _ in .init(status: 200, body: Array(#"{"token":"anon"}"#.utf8)) }) { tokens in
            try await ScriptedHTTPServer.withRunning({ _, _, index in
                index == 0
                    ? .init(status: 401, headers: [("WWW-Authenticate", #"Bearer realm="http://localhost:\#(tokens.port)/token",service="reg""#)])
                    : ok()
            }) { registry in
                let keyring = Keyring(sources: [
                    (label: "s", config: DockerConfig(entries: [DockerConfig.Entry(server: registry.host, username: "u", password: "p")]))
                ])
                _ = try await makeResolver(scripted: [registry.host, "localhost:\(tokens.port)"]).resolve(
                    ImageReference.parse("\(registry.host)/app:v1"), keyring: keyring, deadline: soon())
                #expect(tokens.requests.count == 1)
                #expect(tokens.requests.first?.authorization == nil)
                #expect(tokens.requests.first?.target == "/token?service=reg&scope=repository:app:pull")
                #expect(registry.requests.last?.authorization == "Bearer anon")
            }
        }
    }

    @Test("redirect loops are bounded")
    func redirectLoop() async throws {
        try await ScriptedHTTPServer.withRunning({ _, path, _ in .init(status: 302, headers: [("Location", path)]) }) { server in
            await #expect { try await makeResolver(scripted: [server.host]).resolve(ImageReference.parse("\(server.host)/app:v1"), deadline: soon()) } throws: {
                error in
                (error as? RegistryError)?.description.contains("more than 5 redirects") == true
            }
        }
    }

    @Test("a pinned reference is returned without any request")
    func pinned() async throws {
        try await ScriptedHTTPServer.withRunning({ _, _, _ in .init(status: 500) }) { server in
            let resolved = try await makeResolver(scripted: [server.host]).resolve(
                ImageReference.parse("\(server.host)/app:v1@\(manifestDigest)"), deadline: soon())
            #expect(resolved.digest == manifestDigest)
            #expect(server.requests.isEmpty)
        }
    }

    @Test("a mirror is asked first; when it fails the registry answers")
    func mirrorFallback() async throws {
        try await ScriptedHTTPServer.withRunning({ _, _, _ in .init(status: 503) }) { mirror in
            try await ScriptedHTTPServer.withRunning({ _, _, _ in ok() }) { upstream in
                let resolver = makeResolver(scripted: [mirror.host]) {
                    $0.registries[upstream.host] = RegistrySettings(plainHTTP: true, mirrors: [mirror.host])
                    $0.maxRetries = 0
                }
                let resolved = try await resolver.resolve(ImageReference.parse("\(upstream.host)/app:v1"), deadline: soon())
                #expect(resolved.digest == manifestDigest)
                #expect(mirror.requests.map(\.method) == ["HEAD", "GET"])  // a failed HEAD falls back to GET before giving up on the mirror
                #expect(upstream.requests.count == 1)
            }
        }
    }
}

extension ScriptedHTTPServer.Reply {
    func delayed(by delay: Duration) -> Self {
        var copy = self
        copy.delay = delay
        return copy
    }
}

@Suite("Docker Hub rate limit pacing")
struct RateLimitPacingTests {
    @Test("when ratelimit-remaining runs low, later requests to that registry are spaced out")
    func pacing() async throws {
        let digest = "sha256:" + String(repeating: "3", count: 64)
        try await ScriptedHTTPServer.withRunning({ _, _, _ in
            .init(status: 200, headers: [("Docker-Content-Digest", digest), ("ratelimit-remaining", "2;w=21600")])
        }) { server in
            let resolver = makeResolver(scripted: [server.host]) { $0.rateLimitLowWatermark = 4 }
            _ = try await resolver.resolve(ImageReference.parse("\(server.host)/app:a"), deadline: soon())
            let second = ContinuousClock.now
            _ = try await resolver.resolve(ImageReference.parse("\(server.host)/app:b"), deadline: soon())
            let paced = ContinuousClock.now - second
            // remaining 2 under a watermark of 4: (4 - 2 + 1) × 100 ms before the next request.
            #expect(paced >= .milliseconds(300))
        }
    }
}
