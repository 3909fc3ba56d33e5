import Foundation
import KateNet
import KateRegistry
import RegistryTestSupport
import Testing

@Suite("Unreadable indexes and cancelled lookups (scripted server)")
struct IndexAndCancellationTests {
    /// An index kate cannot read must not pass for a single-platform image: `platformDigests`
    /// answering [] makes the sweeper compare a node's platform digest with the index digest.
    @Test("an index whose manifests list is unreadable is .invalidResponse, not []", arguments: [
        (ManifestMediaType.ociIndex, #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":"amd64"}"#),
        (ManifestMediaType.ociIndex, #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json"}"#),
        (ManifestMediaType.dockerManifestList, #"{"schemaVersion":2,"manifests":[{"mediaType":"x","size":1}]}"#),
        (ManifestMediaType.ociIndex, #"{"schemaVersion":2,"manifests":[{"digest":"sha256:"#),
    ])
    func unreadableIndex(mediaType: String, body: String) async throws {
        let bytes = Array(body.utf8)
        let digest = "sha256:" + SHA256.hex(bytes)
        try await ScriptedHTTPServer.withRunning({ _, _, _ in
            .init(status: 200, headers: [("Content-Type", mediaType), ("Docker-Content-Digest", digest)], body: bytes)
        }) { server in
            let resolver = makeResolver(scripted: [server.host])
            await #expect {
                _ = try await resolver.platformDigests(ImageReference.parse("\(server.host)/app:v1"), indexDigest: digest, keyring: .empty, deadline: soon())
            } throws: { error in
                (error as? RegistryError)?.kind == .invalidResponse
            }
            await resolver.shutdown()
        }
    }

    @Test("a single-platform manifest still has no children, and a readable index lists them")
    func readableDocuments() async throws {
        let single = Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}"#.utf8)
        let child = "sha256:" + String(repeating: "a", count: 64)
        let index = Array(#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(child)","size":2}]}"#.utf8)
        let documents = ["sha256:" + SHA256.hex(single): (ManifestMediaType.ociManifest, single), "sha256:" + SHA256.hex(index): ("application/json", index)]
        try await ScriptedHTTPServer.withRunning({ _, path, _ in
            guard let (type, body) = documents.first(where: { path.hasSuffix($0.key) })?.value else { return .init(status: 404) }
            return .init(status: 200, headers: [("Content-Type", type)], body: body)
        }) { server in
            let resolver = makeResolver(scripted: [server.host])
            let reference = try ImageReference.parse("\(server.host)/app:v1")
            #expect(try await resolver.platformDigests(reference, indexDigest: "sha256:" + SHA256.hex(single), keyring: .empty, deadline: soon()).isEmpty)
            #expect(try await resolver.platformDigests(reference, indexDigest: "sha256:" + SHA256.hex(index), keyring: .empty, deadline: soon()) == [child])
            await resolver.shutdown()
        }
    }

    /// Cancelled while waiting out a Retry-After: the lookup ends now and asks no more.
    @Test("a lookup cancelled during a retry wait ends at once without another request")
    func cancelledDuringRetryWait() async throws {
        try await ScriptedHTTPServer.withRunning({ _, _, _ in .init(status: 503, headers: [("Retry-After", "5")]) }) { server in
            let resolver = makeResolver(scripted: [server.host])
            let reference = try ImageReference.parse("\(server.host)/app:v1")
            let lookup = Task { try await resolver.resolve(reference, deadline: soon(30)) }
            try await waitUntil { server.requests.count == 1 }
            try await Task.sleep(for: .milliseconds(200))
            let cancelled = ContinuousClock.now
            lookup.cancel()
            let result = await lookup.result
            #expect(ContinuousClock.now - cancelled < .seconds(2), "the cancelled lookup waited out its Retry-After")
            #expect(throws: (any Error).self) { try result.get() }
            try await Task.sleep(for: .milliseconds(300))
            #expect(server.requests.count == 1, "a cancelled lookup asked again: \(server.requests.map(\.method))")
            await resolver.shutdown()
        }
    }
}

private func waitUntil(_ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(10)
    while !condition() {
        guard ContinuousClock.now < deadline else { throw CancellationError() }
        try await Task.sleep(for: .milliseconds(10))
    }
}
