import Foundation
import KubeTestServer
import Testing

@testable import KateKube

@Suite("authentication: rotating service-account tokens, mTLS, basic, exec plugins")
struct AuthenticationTests {
    /// A service-account directory laid out as the kubelet does: `token` → `..data/token`, with
    /// `..data` a symlink to a timestamped directory that rotation replaces atomically.
    final class ProjectedVolume: Sendable {
        let dir: TemporaryDirectory
        init(token: String, caPEM: String) throws {
            dir = try TemporaryDirectory()
            try dir.write("namespace", "kate")
            try Self.publish(in: dir, generation: "..2026_11_26_02_00_00.1", token: token, caPEM: caPEM)
            try FileManager.default.createSymbolicLink(atPath: dir.file("token"), withDestinationPath: "..data/token")
            try FileManager.default.createSymbolicLink(atPath: dir.file("ca.crt"), withDestinationPath: "..data/ca.crt")
        }

        /// Writes a new generation and swaps `..data` to it with rename(2), like the kubelet's AtomicWriter.
        func rotate(to token: String, generation: String, caPEM: String) throws {
            try Self.publish(in: dir, generation: generation, token: token, caPEM: caPEM)
        }

        private static func publish(in dir: TemporaryDirectory, generation: String, token: String, caPEM: String) throws {
            try dir.write("\(generation)/token", token)
            try dir.write("\(generation)/ca.crt", caPEM)
            let staging = dir.file("..data_tmp")
            try? FileManager.default.removeItem(atPath: staging)
            try FileManager.default.createSymbolicLink(atPath: staging, withDestinationPath: generation)
            guard rename(staging, dir.file("..data")) == 0 else { throw CocoaError(.fileWriteUnknown) }
        }
    }

    func inClusterClient(_ server: KubeTestServer, volume: ProjectedVolume) throws -> KubeClient {
        var config = try KubeConfigLoader.inCluster(
            environment: ["KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": String(server.port)],
            serviceAccountDirectory: volume.dir.path
        )
        config.ignoreEnvironmentProxy = true
        return KubeClient(configuration: config, logger: testLogger)
    }

    @Test("in-cluster: the rotated token file is picked up by the next request")
    func tokenRotation() async throws {
        try await withServer { server in
            server.addToken("token-one")
            let volume = try ProjectedVolume(token: "token-one", caPEM: server.caPEM)
            let client = try inClusterClient(server, volume: volume)
            #expect(client.configuration.namespace == "kate")
            _ = try await client.listPods(namespace: "kate")
            server.addToken("token-two")
            try volume.rotate(to: "token-two", generation: "..2026_11_26_03_00_00.2", caPEM: server.caPEM)
            _ = try await client.listPods(namespace: "kate")
            #expect(server.recordedCalls.map(\.bearerToken) == ["token-one", "token-two"])
        }
    }

    @Test("a 401 re-reads the token file and retries once")
    func unauthorizedRereads() async throws {
        try await withServer { server in
            let volume = try ProjectedVolume(token: "token-aaaa", caPEM: server.caPEM)
            server.addToken("token-aaaa")
            // A whole-second mtime, so restoring it below is exact.
            let file = volume.dir.file("..2026_11_26_02_00_00.1/token")
            let mtime = Date(timeIntervalSince1970: 1_790_000_000)
            try FileManager.default.setAttributes([.modificationDate: mtime], ofItemAtPath: file)
            let client = try inClusterClient(server, volume: volume)
            _ = try await client.listPods(namespace: "kate")
            // Rewrite the file in place keeping inode, size and mtime: only a 401 can reveal the change.
            let handle = try #require(FileHandle(forWritingAtPath: file))
            try handle.write(contentsOf: Data("token-bbbb".utf8))
            try handle.close()
            try FileManager.default.setAttributes([.modificationDate: mtime], ofItemAtPath: file)
            server.revokeToken("token-aaaa")
            server.addToken("token-bbbb")
            _ = try await client.listPods(namespace: "kate")
            #expect(server.recordedCalls.map(\.bearerToken) == ["token-aaaa", "token-aaaa", "token-bbbb"])

            // Still rejected after the re-read: exactly one retry, then a 401 KubeError.
            server.revokeToken("token-bbbb")
            server.clearRecordedCalls()
            let error = try await #require(throws: KubeError.self) { try await client.listPods(namespace: "kate") }
            #expect(error.isUnauthorized)
            #expect(server.recordedCalls.count == 2)
        }
    }

    @Test("a static token is not retried on 401; basic auth works")
    func staticCredentials() async throws {
        try await withServer { server in
            var config = server.clientConfiguration
            config.auth = .token("wrong")
            let error = try await #require(throws: KubeError.self) {
                try await KubeClient(configuration: config, logger: testLogger).listPods(namespace: nil)
            }
            #expect(error.code == 401 && error.reason == "Unauthorized")
            #expect(server.recordedCalls.count == 1)
            server.addBasicUser("admin", password: "s3cret")
            config.auth = .basic(username: "admin", password: "s3cret")
            _ = try await KubeClient(configuration: config, logger: testLogger).listPods(namespace: nil)
            #expect(server.recordedCalls.last?.user == "admin")
        }
    }

    @Test("mutual TLS: a kubeconfig with client-certificate-data authenticates; no certificate fails the handshake")
    func mutualTLS() async throws {
        try await withServer(requireClientCertificate: true) { server in
            try server.addDeployment(namespace: "shop", name: "web", image: "nginx:1.27")
            let issued = try server.issueClientCertificate(user: "kate-admin")
            let dir = try TemporaryDirectory()
            let kubeconfig = try dir.write("config", """
                apiVersion: v1
                kind: Config
                current-context: test
                clusters:
                - name: test
                  cluster:
                    server: \(server.url)
                    certificate-authority-data: \(server.caPEM.base64)
                users:
                - name: admin
                  user:
                    client-certificate-data: \(issued.certificatePEM.base64)
                    client-key-data: \(issued.privateKeyPEM.base64)
                contexts:
                - name: test
                  context: {cluster: test, user: admin, namespace: shop}
                """)
            var config = try KubeConfigLoader.load(kubeconfig: kubeconfig, context: nil, environment: [:])
            config.ignoreEnvironmentProxy = true
            let pods = try await KubeClient(configuration: config, logger: testLogger).listPods(namespace: config.namespace)
            #expect(pods.count == 1)
            #expect(server.recordedCalls.last?.user == "client-certificate-user")

            config.tls.clientCertificate = nil
            config.tls.clientPrivateKey = nil
            config.retry = RetryPolicy(maxAttempts: 1)
            let error = try await #require(throws: KubeError.self) {
                try await KubeClient(configuration: config, logger: testLogger).listPods(namespace: "shop")
            }
            #expect(error.code == 0 && error.reason == "ConnectionFailed")
        }
    }
}

@Suite("exec credential plugins")
struct ExecPluginTests {
    /// A plugin script that prints an ExecCredential, counts its runs in a file, and echoes what it
    /// was given (args, env, KUBERNETES_EXEC_INFO) to a log for assertions.
    static func plugin(in dir: TemporaryDirectory, token: String, expiresIn seconds: Int?, apiVersion: String = "client.authentication.k8s.io/v1") throws -> String {
        let expiry = seconds.map { Date().addingTimeInterval(TimeInterval($0)) }.map { RFC3339.format($0) }
        let status = expiry.map { #"{"token":"\#(token)","expirationTimestamp":"\#($0)"}"# } ?? #"{"token":"\#(token)"}"#
        return try dir.write("bin/get-token", """
            #!/bin/sh
            echo run >> "\(dir.file("runs"))"
            printf '%s\\n' "$*" > "\(dir.file("args"))"
            printf '%s\\n' "$AWS_PROFILE" > "\(dir.file("env"))"
            printf '%s\\n' "$KUBERNETES_EXEC_INFO" > "\(dir.file("info"))"
            echo '{"apiVersion":"\(apiVersion)","kind":"ExecCredential","status":\(status)}'
            """, executable: true)
    }

    static func runs(_ dir: TemporaryDirectory) -> Int {
        ((try? String(contentsOfFile: dir.file("runs"), encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    @Test("kubeconfig exec plugin: token used against the server, cached until it expires", arguments: ["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"])
    func execAgainstServer(apiVersion: String) async throws {
        try await withServer { server in
            let dir = try TemporaryDirectory()
            _ = try Self.plugin(in: dir, token: server.token, expiresIn: 3600, apiVersion: apiVersion)
            let kubeconfig = try dir.write("config", """
                current-context: eks
                clusters: [{name: eks, cluster: {server: "\(server.url)", certificate-authority-data: \(server.caPEM.base64)}}]
                users:
                - name: aws
                  user:
                    exec:
                      apiVersion: \(apiVersion)
                      command: ./bin/get-token
                      args: [eks, get-token, --cluster-name, prod]
                      env: [{name: AWS_PROFILE, value: prod}]
                      provideClusterInfo: true
                contexts: [{name: eks, context: {cluster: eks, user: aws}}]
                """)
            var config = try KubeConfigLoader.load(kubeconfig: kubeconfig, context: nil, environment: [:])
            config.ignoreEnvironmentProxy = true
            let client = KubeClient(configuration: config, logger: testLogger)
            for _ in 0..<3 { _ = try await client.listPods(namespace: nil) }
            #expect(Self.runs(dir) == 1, "the credential is cached until expirationTimestamp")
            #expect(server.recordedCalls.allSatisfy { $0.bearerToken == server.token })
            #expect(try String(contentsOfFile: dir.file("args"), encoding: .utf8) == "eks get-token --cluster-name prod\n")
            #expect(try String(contentsOfFile: dir.file("env"), encoding: .utf8) == "prod\n")
            let info = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file("info")))) as? [String: Any]
            #expect(info?["apiVersion"] as? String == apiVersion)
            let spec = info?["spec"] as? [String: Any]
            #expect(spec?["interactive"] as? Bool == false)
            #expect((spec?["cluster"] as? [String: Any])?["server"] as? String == server.url)
        }
    }

    @Test("an expired credential runs the plugin again; a 401 forces a refresh")
    func expiryAndRefresh() async throws {
        let dir = try TemporaryDirectory()
        let command = try Self.plugin(in: dir, token: "t", expiresIn: 5)
        let plugin = ExecCredentialPlugin(config: ExecConfig(command: command), environment: [:])
        // Expires within the 10 s safety margin: every call runs the plugin.
        _ = try await plugin.credential()
        _ = try await plugin.credential()
        #expect(Self.runs(dir) == 2)

        let lasting = try TemporaryDirectory()
        let command2 = try Self.plugin(in: lasting, token: "t", expiresIn: nil)
        let cached = ExecCredentialPlugin(config: ExecConfig(command: command2), environment: [:])
        _ = try await cached.credential()
        _ = try await cached.credential()
        #expect(Self.runs(lasting) == 1)
        _ = try await cached.credential(forceRefresh: true)
        #expect(Self.runs(lasting) == 2)
    }

    @Test("a missing command names the plugin and its installHint")
    func missingCommand() async throws {
        let plugin = ExecCredentialPlugin(
            config: ExecConfig(command: "gke-gcloud-auth-plugin", installHint: "Install gke-gcloud-auth-plugin: https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl"),
            environment: ["PATH": "/nonexistent"]
        )
        let error = try await #require(throws: KubeError.self) { try await plugin.credential() }
        #expect(error.description.contains("gke-gcloud-auth-plugin was not found"))
        #expect(error.description.contains("Install gke-gcloud-auth-plugin: https://cloud.google.com"))
    }

    @Test("plugin failures are reported with their stderr or what is wrong with the output", arguments: [
        ("echo 'token expired, run aws sso login' >&2; exit 3", "exited with status 3: token expired, run aws sso login"),
        ("echo not json", "did not print an ExecCredential"),
        (#"echo '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"x"}}'"#, "expected ExecCredential client.authentication.k8s.io/v1"),
        (#"echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{}}'"#, "neither a token nor a client certificate"),
        (#"echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"x","expirationTimestamp":"soon"}}'"#, "invalid expirationTimestamp"),
    ])
    func pluginFailures(script: String, fragment: String) async throws {
        let dir = try TemporaryDirectory()
        let command = try dir.write("plugin", "#!/bin/sh\n\(script)\n", executable: true)
        let plugin = ExecCredentialPlugin(config: ExecConfig(command: command), environment: [:])
        let error = try await #require(throws: KubeError.self) { try await plugin.credential() }
        #expect(error.description.contains(fragment), "\(error.description)")
    }

    @Test("interactiveMode Always cannot work without a terminal")
    func interactiveAlways() async throws {
        let plugin = ExecCredentialPlugin(config: ExecConfig(command: "/bin/true", interactiveMode: "Always"), environment: [:])
        let error = try await #require(throws: KubeError.self) { try await plugin.credential() }
        #expect(error.description.contains("interactive terminal"))
    }
}

@Suite("exec plugins returning client certificates")
struct ExecClientCertificateTests {
    @Test("an ExecCredential with clientCertificateData/clientKeyData is used for mutual TLS")
    func execClientCertificate() async throws {
        try await withServer(requireClientCertificate: true) { server in
            let issued = try server.issueClientCertificate(user: "exec-user")
            let dir = try TemporaryDirectory()
            let credential: [String: Any] = [
                "apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                "status": ["clientCertificateData": issued.certificatePEM, "clientKeyData": issued.privateKeyPEM],
            ]
            let json = try JSONSerialization.data(withJSONObject: credential)
            try dir.write("credential.json", String(decoding: json, as: UTF8.self))
            let command = try dir.write("plugin", "#!/bin/sh\ncat \"\(dir.file("credential.json"))\"\n", executable: true)
            var config = KubeClientConfiguration(
                server: server.url, tls: .init(useSystemTrustStore: false, additionalTrustRoots: [.pem(server.caPEM)]),
                auth: .exec(ExecConfig(command: command))
            )
            config.ignoreEnvironmentProxy = true
            let client = KubeClient(configuration: config, logger: testLogger)
            _ = try await client.listPods(namespace: nil)
            #expect(server.recordedCalls.count == 1)
            #expect(server.recordedCalls.first?.bearerToken == nil)
            await client.shutdown()
        }
    }
}
