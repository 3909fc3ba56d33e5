import Foundation
import KateContract
import KateKube
import KateNet
import KubeTestServer
import Testing

/// The real kubectl reads what kate wrote: the Lease of kate's `LeaderElector`: holder, duration, transitions and
/// the MicroTime stamps under the field names client-go uses (`kubectl get -o json` prints the
/// object as the server holds it; the table form goes through kubectl's own printing).
@Suite("Lease read back by kubectl")
struct LeaseKubectlTests {
    static let kubectl: String? = ["/usr/local/bin/kubectl", "/usr/bin/kubectl"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// A kubeconfig for `server`, namespace `kate`.
    private static func kubeconfig(for server: KubeTestServer, in directory: TemporaryDirectory) throws -> String {
        try directory.write("kubeconfig", """
            apiVersion: v1
            kind: Config
            clusters: [{name: t, cluster: {server: "\(server.url)", certificate-authority-data: \(Data(server.caPEM.utf8).base64EncodedString())}}]
            users: [{name: t, user: {token: \(server.token)}}]
            contexts: [{name: t, context: {cluster: t, user: t, namespace: kate}}]
            current-context: t
            """)
    }

    /// Runs kubectl without blocking a cooperative thread: the API server it talks to runs in this
    /// process, on that same two-thread pool (a blocking wait here deadlocked two parallel tests).
    private static func run(_ arguments: [String], in directory: TemporaryDirectory) async throws -> (status: Int32, output: String, errors: String) {
        let result = try await ChildProcessRunner.run(executable: kubectl ?? "/usr/bin/kubectl", arguments: arguments, timeout: .seconds(60))
        return (result.status, String(decoding: result.stdout, as: UTF8.self), String(decoding: result.stderr, as: UTF8.self))
    }

    @Test("kubectl get lease -o json shows kate's holder, MicroTime stamps, duration and transitions", .enabled(if: kubectl != nil, "needs kubectl"))
    func kubectlReadsTheLease() async throws {
        try await withServer { server in
            let directory = try TemporaryDirectory()
            let kubeconfig = try Self.kubeconfig(for: server, in: directory)
            let client = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            let log = LeadershipLog()
            let elector = Task {
                try await LeaderElector(client: client, namespace: "kate", name: "kate-sweeper", identity: "kate-sweeper-7d9f", timing: LeaderElectionTests.fast)
                    .run { await log.lead(as: "kate-sweeper-7d9f") }
            }
            _ = try await log.waitForLeader()
            let read = try await Self.run(["--kubeconfig", kubeconfig, "--cache-dir", directory.file("cache"), "get", "lease", "kate-sweeper", "-o", "json"], in: directory)
            elector.cancel()
            _ = try? await elector.value
            #expect(read.status == 0, "\(read.errors)")
            let lease = try #require(try JSONSerialization.jsonObject(with: Data(read.output.utf8)) as? [String: Any])
            #expect(lease["apiVersion"] as? String == "coordination.k8s.io/v1")
            #expect(lease["kind"] as? String == "Lease")
            let spec = try #require(lease["spec"] as? [String: Any])
            #expect(spec["holderIdentity"] as? String == "kate-sweeper-7d9f")
            #expect(spec["leaseDurationSeconds"] as? Int == 1)
            #expect(spec["leaseTransitions"] as? Int == 0)
            // metav1.MicroTime's wire format (RFC 3339, six fractional digits, UTC), as kube-apiserver writes it.
            #expect(LeaderElectionTests.isMicroTime(spec["acquireTime"] as? String), "\(spec["acquireTime"] ?? "nil")")
            #expect(LeaderElectionTests.isMicroTime(spec["renewTime"] as? String))
            let table = try await Self.run(["--kubeconfig", kubeconfig, "--cache-dir", directory.file("cache"), "get", "lease", "kate-sweeper"], in: directory)
            #expect(table.status == 0 && table.output.contains("kate-sweeper"), "\(table.errors)")
            await client.shutdown()
        }
    }

    @Test("kubectl get ith -o json shows the ImageTagHistory kate's DigestLedger recorded", .enabled(if: kubectl != nil, "needs kubectl"))
    func kubectlReadsTheLedger() async throws {
        try await withServer { server in
            let directory = try TemporaryDirectory()
            let kubeconfig = try Self.kubeconfig(for: server, in: directory)
            let client = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            let ledger = DigestLedger(client: client, namespace: "kate")
            let digest = "sha256:" + String(repeating: "ab", count: 32)
            try await ledger.record(reference: "docker.io/library/nginx:1.27", digest: digest, platforms: ["linux/amd64", "linux/arm64"])
            let read = try await Self.run(["--kubeconfig", kubeconfig, "--cache-dir", directory.file("cache"), "get", "ith", "-o", "json"], in: directory)
            #expect(read.status == 0, "\(read.errors)")
            let list = try #require(try JSONSerialization.jsonObject(with: Data(read.output.utf8)) as? [String: Any])
            let items = try #require(list["items"] as? [[String: Any]])
            #expect(items.count == 1)
            let spec = try #require(items.first?["spec"] as? [String: Any])
            #expect(spec["reference"] as? String == "docker.io/library/nginx:1.27")
            let first = try #require((spec["digests"] as? [[String: Any]])?.first)
            #expect(first["digest"] as? String == digest)
            #expect(first["platforms"] as? [String] == ["linux/amd64", "linux/arm64"])
            #expect((first["firstSeen"] as? String).flatMap(RFC3339.parse) != nil)
            await client.shutdown()
        }
    }
}
