import Foundation
import KateNet
import KubeTestServer
import RegistryTestSupport
import Testing

/// Runs the built `kate resolve --explain` against a real docker-registry (htpasswd Basic auth over
/// TLS) and the Kubernetes test API server holding a pod whose pull secret has the wrong password.
/// Enabled when the `kate` executable sits next to the test bundle (`swift build` of the whole
/// package, or `KATE_ONLY=KateAdmissionTests,kate`) or `KATE_BINARY` names it; under CI=true a
/// missing binary fails instead of skipping.
@Suite("kate resolve --explain end to end (the built binary)")
struct ResolveExplainE2ETests {
    static let binary = KateBinary.path
    static let runsBinary = KateBinary.testsRun

    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs kate with HOME in `home` (no docker config of the caller's), waiting at most 60 s.
    static func kate(_ arguments: [String], home: String) async throws -> Run {
        // On a thread of its own (ChildProcessRunner.run), never the cooperative pool: a blocking wait there would
        // starve the in-process registry token server and API server kate is talking to.
        let output = try await ChildProcessRunner.run(
            executable: try #require(binary, "the kate binary was not built next to the tests (or named by KATE_BINARY)"), arguments: arguments,
            environment: ["PATH": "/usr/bin:/bin", "HOME": home], timeout: .seconds(60))
        return Run(status: output.status, stdout: String(decoding: output.stdout, as: UTF8.self), stderr: String(decoding: output.stderr, as: UTF8.self))
    }

    static func kubeconfig(for api: KubeTestServer, in directory: String) throws -> String {
        let path = directory + "/kubeconfig"
        let text = """
            apiVersion: v1
            kind: Config
            clusters: [{name: test, cluster: {server: "\(api.url)", certificate-authority-data: \(Data(api.caPEM.utf8).base64EncodedString())}}]
            users: [{name: test, user: {token: \(api.token)}}]
            contexts: [{name: test, context: {cluster: test, user: test}}]
            current-context: test

            """
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("a wrong pull secret: the transcript names the secret, the key it matched and the 401; exit 1 with class auth",
          .enabled(if: runsBinary, "kate binary not built"))
    func wrongPullSecret() async throws {
        try await TestRegistry.withRunning(.basicAuthTLS(user: "robot", password: "right-pass")) { registry in
            let digest = try await registry.push(repository: "private/app", tag: "v1")
            let api = try await KubeTestServer.start(logger: TestLogging.quiet)
            defer { Task { await api.stop() } }
            try api.addNamespace("team-a")
            try api.addDockerConfigSecret(namespace: "team-a", name: "regcred", registry: registry.host, username: "robot", password: "wrong-pass")
            try api.addDockerConfigSecret(namespace: "team-a", name: "builder-cred", registry: registry.host, username: "robot", password: "right-pass")
            try api.addServiceAccount(namespace: "team-a", name: "default")
            try api.addServiceAccount(namespace: "team-a", name: "builder", imagePullSecrets: ["builder-cred"])
            let image = "\(registry.host)/private/app:v1"
            try api.addPod(namespace: "team-a", name: "web", containers: [TestContainer(name: "web", image: image)], options: PodOptions(imagePullSecrets: ["regcred"]))

            let home = NSTemporaryDirectory() + "kate-explain-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: home) }
            let registryConfig = home + "/registry-config.json"
            try Data(#"{"registries": {"\#(registry.host)": {"caFile": "\#(try #require(registry.caFile))"}}}"#.utf8).write(to: URL(fileURLWithPath: registryConfig))
            let common = ["resolve", "--log-level", "warning", "--kubeconfig", try Self.kubeconfig(for: api, in: home), "--registry-config", registryConfig]

            let failed = try await Self.kate(common + ["--explain", "--as-pod", "team-a/web", image], home: home)
            #expect(failed.status == 1, "\(failed.stderr)")
            #expect(failed.stdout.contains("as          pod team-a/web: checked imagePullSecret team-a/regcred, ServiceAccount team-a/default"), "\(failed.stdout)")
            #expect(failed.stdout.contains("1. imagePullSecret team-a/regcred: keys \(registry.host); MATCHES \(registry.host)"), "\(failed.stdout)")
            #expect(failed.stdout.contains("try         imagePullSecret team-a/regcred (\(registry.host)) at \(registry.host)"))
            #expect(failed.stdout.contains("Authorization: Basic"))
            #expect(failed.stdout.contains("← 401"))
            #expect(failed.stdout.contains("verdict     FAILED [auth]"))
            #expect(failed.stdout.contains("fix         Check imagePullSecret team-a/regcred (\(registry.host))"))
            let line = try #require(failed.stderr.split(separator: "\n").first { $0.hasPrefix(image + ": ") })
            #expect(line.contains("[auth]") && line.contains("answered 401") && line.contains("Check imagePullSecret team-a/regcred"), "\(line)")

            // The same as JSON.
            let json = try await Self.kate(common + ["--explain", "--output", "json", "--as-pod", "team-a/web", image], home: home)
            #expect(json.status == 1)
            let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
            let row = try #require(rows.first)
            #expect(row["class"] as? String == "auth")
            #expect((row["fix"] as? String)?.hasPrefix("Check imagePullSecret team-a/regcred") == true)
            let steps = try #require(row["steps"] as? [[String: Any]])
            let statuses = steps.compactMap { ($0["response"] as? [String: Any])?["status"] as? Int }
            #expect(statuses.contains(401) && !statuses.contains(200))

            // The ServiceAccount with the right secret resolves; --full-ref prints NAME@DIGEST as crane does.
            let good = try await Self.kate(common + ["--full-ref", "--namespace", "team-a", "--service-account", "builder", image], home: home)
            #expect(good.status == 0, "\(good.stderr)")
            #expect(good.stdout == "\(registry.host)/private/app@\(digest)\n")

            // A pod that does not exist is a one-line error naming it, not a crash.
            let missing = try await Self.kate(common + ["--explain", "--as-pod", "team-a/nope", image], home: home)
            #expect(missing.status != 0 && missing.stderr.contains("--as-pod team-a/nope: no such pod"), "\(missing.stderr)")
        }
    }

    @Test("many references in parallel, in order; a bad reference is class bad-reference; --platform picks the platform's digest",
          .enabled(if: runsBinary, "kate binary not built"))
    func parityWithCraneDigest() async throws {
        try await TestRegistry.withRunning(.plainHTTP) { registry in
            let single = try await registry.push(repository: "demo/one", tag: "v1")
            let multi = try await registry.pushIndex(repository: "demo/multi", tag: "v1", platforms: ["linux/amd64", "linux/arm64/v8"])
            let home = NSTemporaryDirectory() + "kate-explain-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: home) }
            let one = "\(registry.host)/demo/one:v1", many = "\(registry.host)/demo/multi:v1"

            let listed = try await Self.kate(["resolve", many, "Bad//Ref", one], home: home)
            #expect(listed.status == 1)
            #expect(listed.stdout == "\(many)\t\(multi.index)\n\(one)\t\(single)\n")
            #expect(listed.stderr.contains("Bad//Ref: [bad-reference]"), "\(listed.stderr)")

            let arm = try await Self.kate(["resolve", "--platform", "linux/arm64", many, one], home: home)
            #expect(arm.status == 0, "\(arm.stderr)")
            #expect(arm.stdout == "\(many)\t\(multi.children[1])\n\(one)\t\(single)\n")

            let absent = try await Self.kate(["resolve", "--platform", "linux/s390x", many], home: home)
            #expect(absent.status == 1 && absent.stderr.contains("[absent]") && absent.stderr.contains("linux/amd64, linux/arm64/v8"), "\(absent.stderr)")

            let explained = try await Self.kate(["resolve", "--explain", many], home: home)
            #expect(explained.status == 0)
            #expect(explained.stdout.contains("platforms   linux/amd64 \(multi.children[0])"), "\(explained.stdout)")
            #expect(explained.stdout.contains("linux/arm64/v8 \(multi.children[1])"))

            let unknownTag = try await Self.kate(["resolve", "\(registry.host)/demo/one:nope"], home: home)
            #expect(unknownTag.status == 1 && unknownTag.stderr.contains("[absent]") && unknownTag.stderr.contains("Check the tag spelling"))
        }
    }
}
