import Foundation
import Testing

@testable import KateRegistry

private func b64(_ s: String) -> String { Data(s.utf8).base64EncodedString() }

private func config(_ json: String) throws -> DockerConfig { try DockerConfig.parse(json: Array(json.utf8)) }

@Suite("Docker config parsing")
struct DockerConfigTests {
    @Test("auths with auth (split on first colon), username/password, identity token")
    func auths() throws {
        let c = try config("""
            {"auths": {
              "https://index.docker.io/v1/": {"auth": "\(b64("hubuser:pa:ss:word"))", "email": "x@y"},
              "ghcr.io": {"username": "gh", "password": "tok"},
              "registry.corp": {"identitytoken": "refresh-me"},
              "empty.example": {}
            }, "credsStore": "desktop"}
            """)
        #expect(c.entries.count == 3)
        let hub = try #require(c.entries.first { $0.server == "https://index.docker.io/v1/" })
        #expect(hub.username == "hubuser")
        #expect(hub.password == "pa:ss:word")
        #expect(c.entries.first { $0.server == "ghcr.io" }?.password == "tok")
        #expect(c.entries.first { $0.server == "registry.corp" }?.identityToken == "refresh-me")
    }

    @Test("auth overrides username/password")
    func authWins() throws {
        let c = try config(#"{"auths":{"r.io":{"username":"a","password":"b","auth":"\#(b64("c:d"))"}}}"#)
        #expect(c.entries.first?.username == "c")
        #expect(c.entries.first?.password == "d")
    }

    @Test("invalid documents name the problem", arguments: [
        ("[]", "top level is not an object"),
        ("{", "invalid JSON"),
        (#"{"auths": []}"#, "\"auths\" is not an object"),
        (#"{"auths": {"r.io": "x"}}"#, "value is not an object"),
        (#"{"auths": {"r.io": {"auth": "\#(b64("nocolon"))"}}}"#, "without \":\""),
        (#"{"auths": {"r.io": {"auth": "!!!"}}}"#, "not base64"),
    ])
    func invalid(_ json: String, _ phrase: String) {
        #expect {
            _ = try config(json)
        } throws: { "\($0)".contains(phrase) }
    }

    @Test("no auths key is an empty config (docker CLI writes such files)")
    func noAuths() throws {
        #expect(try config(#"{"credsStore":"osxkeychain"}"#).entries.isEmpty)
    }

    @Test("legacy .dockercfg and Secret payloads of both types")
    func secrets() throws {
        let legacy = #"{"legacy.example":{"auth":"\#(b64("old:pw"))","email":"e"}}"#
        let modern = #"{"auths":{"new.example":{"auth":"\#(b64("new:pw"))"}}}"#
        let fromLegacy = try DockerConfig.fromSecret(type: "kubernetes.io/dockercfg", data: [".dockercfg": b64(legacy)])
        #expect(fromLegacy.entries.map(\.username) == ["old"])
        let fromModern = try DockerConfig.fromSecret(type: "kubernetes.io/dockerconfigjson", data: [".dockerconfigjson": b64(modern)])
        #expect(fromModern.entries.map(\.server) == ["new.example"])
        #expect(throws: DockerConfig.ParseError.unsupportedSecretType("Opaque")) {
            try DockerConfig.fromSecret(type: "Opaque", data: [:])
        }
        #expect(throws: DockerConfig.ParseError.missingSecretKey(type: "kubernetes.io/dockerconfigjson", key: ".dockerconfigjson")) {
            try DockerConfig.fromSecret(type: "kubernetes.io/dockerconfigjson", data: [".dockercfg": b64(legacy)])
        }
        #expect(try DockerConfig.parseLegacy(json: Array(legacy.utf8)).entries.count == 1)
    }
}

@Suite("Keyring matching (kubelet semantics)")
struct KeyringTests {
    private func keyring(_ servers: [String], label: String = "test") -> Keyring {
        let entries = servers.map { DockerConfig.Entry(server: $0, username: "user-\($0)", password: "p") }
        return Keyring(sources: [(label: label, config: DockerConfig(entries: entries))])
    }

    private func match(_ servers: [String], _ image: String) throws -> [String] {
        let ref = try ImageReference.parse(image)
        return keyring(servers).credentials(registry: ref.registry, repository: ref.repository).map(\.server)
    }

    @Test("key normalisation and matching", arguments: [
        (["https://index.docker.io/v1/"], "nginx", ["https://index.docker.io/v1/"]),
        (["index.docker.io"], "docker.io/bitnami/redis", ["index.docker.io"]),
        (["docker.io"], "nginx:1", ["docker.io"]),
        (["registry-1.docker.io"], "library/nginx", ["registry-1.docker.io"]),
        (["https://ghcr.io/v2/"], "ghcr.io/org/app", ["https://ghcr.io/v2/"]),
        (["http://ghcr.io"], "ghcr.io/org/app", ["http://ghcr.io"]),
        (["ghcr.io"], "docker.io/org/app", []),
        (["*.example.com"], "reg.example.com/app", ["*.example.com"]),
        (["*.example.com"], "example.com/app", []),
        (["*.example.com"], "a.b.example.com/app", []),
        (["reg.example.com:5000"], "reg.example.com/app", []),
        (["reg.example.com:5000"], "reg.example.com:5000/app", ["reg.example.com:5000"]),
        (["reg.example.com"], "reg.example.com:5000/app", []),
        (["reg.example.com/team"], "reg.example.com/team/app", ["reg.example.com/team"]),
        (["reg.example.com/team"], "reg.example.com/teamster/app", []),
        (["reg.example.com/team", "reg.example.com", "*.example.com"], "reg.example.com/team/app",
         ["reg.example.com/team", "reg.example.com", "*.example.com"]),
        (["REG.Example.COM"], "reg.example.com/app", ["REG.Example.COM"]),
        (["[::1]:5000"], "[::1]:5000/app", ["[::1]:5000"]),
        (["127.0.0.1:5000"], "127.0.0.1:5000/app", ["127.0.0.1:5000"]),
    ])
    func matching(_ servers: [String], _ image: String, _ expected: [String]) throws {
        #expect(try match(servers, image) == expected)
    }

    @Test("equally specific keys keep source order; duplicates are tried once")
    func order() throws {
        let a = keyring(["ghcr.io"], label: "imagePullSecret team-a/regcred")
        let b = Keyring(sources: [(label: "docker config /etc/kate/config.json", config: DockerConfig(entries: [
            DockerConfig.Entry(server: "ghcr.io/org", username: "org", password: "p"),
            DockerConfig.Entry(server: "https://ghcr.io", username: "other", password: "p"),
        ]))])
        let combined = a.appending(b).appending(a)
        let creds = combined.credentials(registry: "ghcr.io", repository: "org/app")
        #expect(creds.map(\.source) == ["docker config /etc/kate/config.json", "imagePullSecret team-a/regcred", "docker config /etc/kate/config.json"])
        #expect(creds.map(\.username) == ["org", "user-ghcr.io", "other"])
        #expect(combined.labels.count == 3)
    }

    @Test("identity differs per secret material, never contains it")
    func identity() {
        let one = keyring(["r.io"]).credentials(registry: "r.io", repository: "a")
        let two = Keyring(sources: [(label: "x", config: DockerConfig(entries: [DockerConfig.Entry(server: "r.io", username: "user-r.io", password: "other")]))])
            .credentials(registry: "r.io", repository: "a")
        #expect(one.first?.identity != two.first?.identity)
        #expect(one.first?.identity.contains("user-r.io") == false)
    }

    @Test("glob", arguments: [("*", "abc", true), ("a*c", "abbbc", true), ("a?c", "abc", true), ("a?c", "ac", false), ("*.x", "y", false), ("ab", "abc", false)])
    func glob(_ pattern: String, _ text: String, _ expected: Bool) {
        #expect(Glob.matches(pattern: pattern, text) == expected)
    }
}
