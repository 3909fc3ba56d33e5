import RegistryTestSupport
import Testing

@testable import KateRegistry

private let d64 = "sha256:" + String(repeating: "ab", count: 32)
private let hex64 = String(repeating: "0123456789abcdef", count: 4)

/// (input, registry, repository, tag, digest)
private let valid: [(String, String, String, String?, String?)] = [
    ("nginx", "docker.io", "library/nginx", nil, nil),
    ("nginx:1.27", "docker.io", "library/nginx", "1.27", nil),
    ("nginx:latest", "docker.io", "library/nginx", "latest", nil),
    ("library/nginx", "docker.io", "library/nginx", nil, nil),
    ("docker.io/nginx", "docker.io", "library/nginx", nil, nil),
    ("docker.io/library/nginx:1", "docker.io", "library/nginx", "1", nil),
    ("index.docker.io/nginx", "docker.io", "library/nginx", nil, nil),
    ("index.docker.io/bitnami/redis:7", "docker.io", "bitnami/redis", "7", nil),
    ("bitnami/nginx", "docker.io", "bitnami/nginx", nil, nil),
    ("bitnami/nginx:1.25.3-debian-12-r0", "docker.io", "bitnami/nginx", "1.25.3-debian-12-r0", nil),
    ("a/b/c/d", "docker.io", "a/b/c/d", nil, nil),
    ("ghcr.io/org/app:v1", "ghcr.io", "org/app", "v1", nil),
    ("ghcr.io/org/app", "ghcr.io", "org/app", nil, nil),
    ("gcr.io/project/image@\(d64)", "gcr.io", "project/image", nil, d64),
    ("nginx@\(d64)", "docker.io", "library/nginx", nil, d64),
    ("nginx:1.27@\(d64)", "docker.io", "library/nginx", "1.27", d64),
    ("localhost/app", "localhost", "app", nil, nil),
    ("localhost:5000/app", "localhost:5000", "app", nil, nil),
    ("localhost:5000/app:dev", "localhost:5000", "app", "dev", nil),
    ("myreg:5000/app", "myreg:5000", "app", nil, nil),
    ("myreg:5000/team/app:5000", "myreg:5000", "team/app", "5000", nil),
    ("app:5000", "docker.io", "library/app", "5000", nil),
    ("localhost:5000", "docker.io", "library/localhost", "5000", nil),
    ("127.0.0.1:5000/app", "127.0.0.1:5000", "app", nil, nil),
    ("[::1]:5000/app:v2", "[::1]:5000", "app", "v2", nil),
    ("[::1]/app", "[::1]", "app", nil, nil),
    ("[fe80::1:2]:443/a/b@\(d64)", "[fe80::1:2]:443", "a/b", nil, d64),
    ("Registry.Example.com/app", "Registry.Example.com", "app", nil, nil),
    ("Foo/bar", "Foo", "bar", nil, nil),
    ("example.com/a_b/c__d/e-f/g---h/i.j", "example.com", "a_b/c__d/e-f/g---h/i.j", nil, nil),
    ("quay.io/coreos/etcd:v3.5.0_rc1", "quay.io", "coreos/etcd", "v3.5.0_rc1", nil),
    ("registry.k8s.io/pause:3.9", "registry.k8s.io", "pause", "3.9", nil),
    ("my-registry.example.com:443/x", "my-registry.example.com:443", "x", nil, nil),
    ("nginx:_under", "docker.io", "library/nginx", "_under", nil),
    ("nginx:" + String(repeating: "t", count: 128), "docker.io", "library/nginx", String(repeating: "t", count: 128), nil),
    ("docker.io/\(hex64)x", "docker.io", "library/\(hex64)x", nil, nil),
    ("\(hex64):tag", "docker.io", "library/\(hex64)", "tag", nil),
    ("a0", "docker.io", "library/a0", nil, nil),
    ("0", "docker.io", "library/0", nil, nil),
]

/// (input, expected error kind, a phrase the message must contain)
private let invalid: [(String, ImageReferenceError.Kind, String)] = [
    ("", .empty, "empty"),
    (":tag", .empty, "repository name is empty"),
    ("@\(d64)", .empty, "repository name is empty"),
    ("nginx:", .emptyTag, "tag is empty"),
    ("nginx:" + String(repeating: "t", count: 129), .tagTooLong, "tag longer than 128 characters"),
    ("nginx:.dot", .invalidTag, "tag \".dot\""),
    ("nginx:-dash", .invalidTag, "may only contain"),
    ("nginx:a+b", .invalidTag, "tag \"a+b\""),
    ("MyApp", .uppercaseRepository, "repository name must be lowercase: MyApp"),
    ("library/MyApp:1", .uppercaseRepository, "must be lowercase: MyApp"),
    ("ghcr.io/Org/app", .uppercaseRepository, "must be lowercase: Org"),
    (hex64, .hexRepositoryName, "64-character hex string is not a valid repository name"),
    ("nginx@sha256:abc", .invalidDigest, "64 lowercase hex"),
    ("nginx@sha256:" + String(repeating: "A", count: 64), .invalidDigest, "lowercase hex"),
    ("nginx@md5:" + String(repeating: "a", count: 32), .unsupportedDigestAlgorithm, "not supported"),
    ("nginx@sha256", .invalidDigest, "must look like sha256:"),
    ("nginx@1sha:" + String(repeating: "a", count: 64), .invalidDigest, "malformed"),
    ("nginx@randomsha", .invalidDigest, "must look like"),
    ("a//b", .emptyPathComponent, "empty component"),
    ("ghcr.io/", .emptyPathComponent, "empty component"),
    ("ghcr.io/app/", .emptyPathComponent, "empty component"),
    ("/app", .emptyPathComponent, "empty component"),
    ("a..b", .invalidPathComponent, "\"a..b\""),
    ("_app", .invalidPathComponent, "\"_app\""),
    ("app-", .invalidPathComponent, "\"app-\""),
    ("a._b", .invalidPathComponent, "\"a._b\""),
    ("a___b", .invalidPathComponent, "\"a___b\""),
    ("ngi nx", .invalidCharacters, "whitespace"),
    (" nginx", .invalidCharacters, "whitespace"),
    ("nginx\n", .invalidCharacters, "control"),
    ("ngïnx", .invalidCharacters, "non-ASCII"),
    ("-bad.example.com/app", .invalidDomain, "not a valid DNS name"),
    ("bad_host.com/app", .invalidDomain, "\"bad_host.com\""),
    ("example..com/app", .invalidDomain, "not a valid DNS name"),
    ("myreg:port/app", .invalidPort, "port \"port\""),
    ("myreg:99999/app", .invalidPort, "0 to 65535"),
    ("myreg:/app", .invalidPort, "port \"\""),
    ("[::1/app", .invalidDomain, "missing \"]\""),
    ("[zz::1]:5000/app", .invalidDomain, "bracketed IPv6"),
    ("[::1]x/app", .invalidDomain, "unexpected"),
    ("ghcr.io/" + String(repeating: "a", count: 250), .nameTooLong, "longer than 255 characters"),
]

@Suite("ImageReference parsing (distribution/reference grammar)")
struct ImageReferenceTests {
    @Test("valid references normalise like Docker", arguments: valid.indices)
    func validReference(_ index: Int) throws {
        let (input, registry, repository, tag, digest) = valid[index]
        let ref = try ImageReference.parse(input)
        #expect(ref.original == input)
        #expect(ref.registry == registry)
        #expect(ref.repository == repository)
        #expect(ref.tag == tag)
        #expect(ref.digest == digest)
        #expect(ref.isPinned == (digest != nil))
        #expect(ref.trackedTag == (tag ?? "latest"))
        #expect(ref.canonicalName == "\(registry)/\(repository)")
    }

    @Test("invalid references say what is wrong", arguments: invalid.indices)
    func invalidReference(_ index: Int) {
        let (input, kind, phrase) = invalid[index]
        #expect {
            _ = try ImageReference.parse(input)
        } throws: { error in
            guard let error = error as? ImageReferenceError else { return false }
            return error.kind == kind && error.description.contains(phrase) && error.reference == input
        }
    }

    @Test("table covers at least 50 cases")
    func tableSize() {
        #expect(valid.count + invalid.count >= 50)
    }

    @Test("pinned(to:) keeps the user's spelling and replaces any old digest")
    func pinnedKeepsSpelling() throws {
        let new = "sha256:" + String(repeating: "cd", count: 32)
        #expect(try ImageReference.parse("nginx:1.27").pinned(to: new) == "nginx:1.27@" + new)
        #expect(try ImageReference.parse("nginx").pinned(to: new) == "nginx@" + new)
        #expect(try ImageReference.parse("nginx:1.27@\(d64)").pinned(to: new) == "nginx:1.27@" + new)
        #expect(try ImageReference.parse("Registry.Example.com:5000/a/b:v").pinned(to: new) == "Registry.Example.com:5000/a/b:v@" + new)
    }

    @Test("a tag with a digest is already pinned and the digest wins")
    func tagAndDigest() throws {
        let ref = try ImageReference.parse("docker.io/library/busybox:latest@\(d64)")
        #expect(ref.isPinned)
        #expect(ref.digest == d64)
        #expect(ref.description == "docker.io/library/busybox:latest@\(d64)")
    }

    @Test("parse(printed) == parsed for every valid case", arguments: valid.map(\.0))
    func roundTrip(_ input: String) throws {
        let parsed = try ImageReference.parse(input)
        let reparsed = try ImageReference.parse(parsed.description)
        #expect(reparsed.registry == parsed.registry)
        #expect(reparsed.repository == parsed.repository)
        #expect(reparsed.tag == parsed.tag)
        #expect(reparsed.digest == parsed.digest)
    }

    @Test("generated references round-trip (property)")
    func generatedRoundTrip() throws {
        var rng = SplitMix64(seed: 42)
        let domains = ["", "ghcr.io/", "localhost:5000/", "[::1]:5000/", "a.b.c:1/", "docker.io/"]
        let separators = [".", "_", "__", "-", "---"]
        for _ in 0..<500 {
            var components: [String] = []
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                var c = rng.word()
                if rng.next() % 2 == 0 { c += separators[Int(rng.next() % 5)] + rng.word() }
                components.append(c)
            }
            let domain = domains[Int(rng.next() % UInt64(domains.count))]
            var input = domain + components.joined(separator: "/")
            if rng.next() % 2 == 0 { input += ":" + rng.word() + "_" + String(rng.next() % 100) }
            if rng.next() % 3 == 0 { input += "@" + d64 }
            let parsed = try ImageReference.parse(input)
            let reparsed = try ImageReference.parse(parsed.description)
            #expect(reparsed.registry == parsed.registry, "\(input)")
            #expect(reparsed.repository == parsed.repository, "\(input)")
            #expect(reparsed.tag == parsed.tag && reparsed.digest == parsed.digest, "\(input)")
            // Without a registry prefix a first component with a "." IS the registry (Docker's rule).
            let firstIsDomain = domain.isEmpty && components.count > 1 && components[0].contains(".")
            let path = components.dropFirst(firstIsDomain ? 1 : 0).joined(separator: "/")
            #expect(parsed.repository.hasSuffix(path), "\(input)")
        }
    }
}

/// Deterministic generator so a failing case reproduces.
extension SplitMix64 {
    mutating func word() -> String {
        let letters = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<(1 + Int(next() % 6))).map { _ in letters[Int(next() % UInt64(letters.count))] })
    }
}
