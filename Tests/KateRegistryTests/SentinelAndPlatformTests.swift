import Foundation
import KateNet
import KateRegistry
import RegistryTestSupport
import Testing

/// `Resolver.presence` (the dangling-pin sentinel's HEAD by digest) and `Resolver.platformList`
/// (the platform-coverage gate's index read) against scripted registries.
@Suite("Digest presence and index platforms")
struct SentinelAndPlatformTests {
    static let digest = "sha256:" + String(repeating: "ab", count: 32)

    static func index(_ platforms: [[String: String]]) -> [UInt8] {
        let manifests = platforms.enumerated().map { offset, platform -> [String: Any] in
            ["mediaType": ManifestMediaType.ociManifest, "size": 10, "digest": "sha256:" + String(repeating: String(offset % 10), count: 64), "platform": platform]
        }
        let body: [String: Any] = ["schemaVersion": 2, "mediaType": ManifestMediaType.ociIndex, "manifests": manifests]
        return Array(try! JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]))
    }

    func presence(_ reply: @escaping @Sendable (String, String, Int) -> ScriptedHTTPServer.Reply) async throws -> (DigestPresence, [ScriptedHTTPServer.Recorded]) {
        var answer = DigestPresence.present
        var requests: [ScriptedHTTPServer.Recorded] = []
        try await ScriptedHTTPServer.withRunning(reply) { server in
            let resolver = makeResolver(scripted: [server.host]) { $0.maxRetries = 0 }
            answer = await resolver.presence(of: try ImageReference.parse("\(server.host)/team/app:1"), digest: Self.digest, keyring: .empty, deadline: soon())
            requests = server.requests
            await resolver.shutdown()
        }
        return (answer, requests)
    }

    @Test("404 is missing; the HEAD goes to /v2/<repo>/manifests/<digest> with the resolver's Accept list")
    func notFoundIsMissing() async throws {
        let (answer, requests) = try await presence { _, _, _ in .init(status: 404) }
        #expect(answer.isMissing)
        #expect(requests.map(\.method) == ["HEAD"])
        #expect(requests.first?.target == "/v2/team/app/manifests/\(Self.digest)")
        #expect(requests.first?.accept == ManifestMediaType.accept)
    }

    @Test("200 is present")
    func okIsPresent() async throws {
        let (answer, _) = try await presence { _, _, _ in .init(status: 200, headers: [("Docker-Content-Digest", Self.digest)]) }
        #expect(answer == .present)
    }

    @Test("5xx, 401 and 429 are unknown, never missing")
    func failuresAreUnknown() async throws {
        for status in [500, 503, 401, 403, 429] {
            let (answer, _) = try await presence { _, _, _ in .init(status: status) }
            guard case .unknown(let why) = answer else {
                Issue.record("status \(status) gave \(answer)")
                continue
            }
            #expect(why.contains("\(status)"), "\(status): \(why)")
        }
    }

    @Test("a registry that refuses connections is unknown")
    func unreachableIsUnknown() async throws {
        let resolver = makeResolver(scripted: ["127.0.0.1:1"]) { $0.maxRetries = 0 }
        let answer = await resolver.presence(of: try ImageReference.parse("127.0.0.1:1/team/app:1"), digest: Self.digest, keyring: .empty, deadline: soon())
        #expect(!answer.isMissing && answer != .present)
        await resolver.shutdown()
    }

    @Test("405 on HEAD falls back to GET: 404 there is missing")
    func headNotAllowedFallsBackToGet() async throws {
        let (answer, requests) = try await presence { method, _, _ in
            method == "HEAD" ? .init(status: 405) : .init(status: 404, body: Array(#"{"errors":[{"code":"MANIFEST_UNKNOWN"}]}"#.utf8))
        }
        #expect(requests.map(\.method) == ["HEAD", "GET"])
        guard case .missing(let why) = answer else { Issue.record("got \(answer)"); return }
        #expect(why.contains("MANIFEST_UNKNOWN"))
    }

    @Test("a digest that is not sha256 is unknown without a request")
    func badDigest() async throws {
        let resolver = makeResolver(scripted: ["127.0.0.1:1"])
        let answer = await resolver.presence(of: try ImageReference.parse("127.0.0.1:1/a:1"), digest: "sha256:nothex", keyring: .empty, deadline: soon())
        #expect(!answer.isMissing && answer != .present)
        await resolver.shutdown()
    }

    @Test("an index's platforms: one GET per digest, attestations left out")
    func platformListOneGet() async throws {
        let body = Self.index([
            ["os": "linux", "architecture": "amd64"], ["os": "linux", "architecture": "arm", "variant": "v7"],
            ["os": "unknown", "architecture": "unknown"],
        ])
        let digest = Digest.sha256(body)
        try await ScriptedHTTPServer.withRunning({ _, _, _ in
            .init(status: 200, headers: [("Content-Type", ManifestMediaType.ociIndex), ("Docker-Content-Digest", digest)], body: body)
        }) { server in
            let resolver = makeResolver(scripted: [server.host])
            let reference = try ImageReference.parse("\(server.host)/team/app:1")
            for _ in 0..<3 {
                let list = try await resolver.platformList(of: reference, digest: digest, keyring: .empty, deadline: soon())
                #expect(list == .index([Platform(os: "linux", architecture: "amd64"), Platform(os: "linux", architecture: "arm", variant: "v7")]))
            }
            #expect(server.requests.map(\.method) == ["GET"])
            #expect(server.requests.first?.target == "/v2/team/app/manifests/\(digest)")
            await resolver.shutdown()
        }
    }

    @Test("a single-platform manifest is .singlePlatform; a body that does not hash to the digest is refused")
    func singlePlatformAndMismatch() async throws {
        let manifest = Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}"#.utf8)
        let digest = Digest.sha256(manifest)
        try await ScriptedHTTPServer.withRunning({ _, _, _ in
            .init(status: 200, headers: [("Content-Type", ManifestMediaType.ociManifest)], body: manifest)
        }) { server in
            let resolver = makeResolver(scripted: [server.host])
            let reference = try ImageReference.parse("\(server.host)/team/app:1")
            #expect(try await resolver.platformList(of: reference, digest: digest, keyring: .empty, deadline: soon()) == .singlePlatform)
            await #expect(throws: RegistryError.self) {
                try await resolver.platformList(of: reference, digest: Self.digest, keyring: .empty, deadline: soon())
            }
            await resolver.shutdown()
        }
    }

    @Test("coverage: a node's os/arch is met by any variant; a named variant only by that variant or none")
    func coverage() {
        let arm64 = Platform(os: "linux", architecture: "arm64")
        let offered: Set<Platform> = [Platform(os: "linux", architecture: "amd64"), Platform(os: "linux", architecture: "arm64", variant: "v8")]
        #expect(Platform.missing([arm64], from: offered).isEmpty)
        #expect(Platform.missing([Platform(os: "linux", architecture: "arm64", variant: "v9")], from: offered).map(\.description) == ["linux/arm64/v9"])
        #expect(Platform.missing([arm64, Platform(os: "linux", architecture: "s390x")], from: [Platform(os: "linux", architecture: "amd64")]).map(\.description)
            == ["linux/arm64", "linux/s390x"])
        #expect(Platform.parse("linux/arm/v7") == Platform(os: "linux", architecture: "arm", variant: "v7"))
        #expect(Platform.parse("linux") == nil && Platform.parse("/amd64") == nil)
    }
}
