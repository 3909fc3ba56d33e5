import Testing
@testable import KateSweeper

@Suite("imageID forms across runtimes")
struct ImageIDTests {
    static let d = "sha256:" + String(repeating: "ab", count: 32)

    struct Case: Sendable, CustomStringConvertible {
        let runtime: String
        let raw: String?
        let repository: String?
        let digest: String?
        var description: String { "\(runtime): \(raw ?? "nil")" }
    }

    static let cases: [Case] = [
        Case(runtime: "containerd", raw: "docker.io/library/nginx@\(d)", repository: "docker.io/library/nginx", digest: d),
        Case(runtime: "containerd private registry", raw: "registry.example.com:5000/team/app@\(d)", repository: "registry.example.com:5000/team/app", digest: d),
        Case(runtime: "cri-o", raw: "quay.io/prometheus/node-exporter@\(d)", repository: "quay.io/prometheus/node-exporter", digest: d),
        Case(runtime: "docker-pullable (familiar name)", raw: "docker-pullable://nginx@\(d)", repository: "nginx", digest: d),
        Case(runtime: "docker-pullable (qualified)", raw: "docker-pullable://marketplace.gcr.io/google/nginx1@\(d)", repository: "marketplace.gcr.io/google/nginx1", digest: d),
        Case(runtime: "docker local image", raw: "docker://\(d)", repository: nil, digest: nil),
        Case(runtime: "containerd imported image (config ID)", raw: d, repository: nil, digest: nil),
        Case(runtime: "cri-o generated ID", raw: "0a1b2c3d4e5f", repository: nil, digest: nil),
        Case(runtime: "not reported yet", raw: nil, repository: nil, digest: nil),
        Case(runtime: "empty", raw: "", repository: nil, digest: nil),
        Case(runtime: "short digest", raw: "nginx@sha256:abc", repository: nil, digest: nil),
        Case(runtime: "uppercase hex", raw: "nginx@sha256:" + String(repeating: "AB", count: 32), repository: nil, digest: nil),
        Case(runtime: "no repository", raw: "@\(d)", repository: nil, digest: nil),
        Case(runtime: "sha512", raw: "nginx@sha512:" + String(repeating: "a", count: 128), repository: nil, digest: nil),
    ]

    @Test(arguments: cases)
    func parses(_ c: Case) {
        let parsed = ImageID.parse(c.raw)
        switch parsed {
        case .digest(let repository, let digest):
            #expect(repository == c.repository)
            #expect(digest == c.digest)
        case .unknown(let reason):
            #expect(c.digest == nil, "expected a digest, got unknown: \(reason)")
            #expect(!reason.isEmpty)
        }
    }

    @Test func configIDIsExplained() {
        guard case .unknown(let reason) = ImageID.parse("docker://\(Self.d)") else {
            Issue.record("a config ID must not be comparable")
            return
        }
        #expect(reason.contains("config ID"))
    }

    @Test func shortDigestForTables() {
        #expect(ImageDigest.short(Self.d) == "sha256:abababababab")
        #expect(ImageDigest.short(nil) == "-")
    }
}
