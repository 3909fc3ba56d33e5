import Foundation
import KateKube
import KubeTestServer
import Testing

/// The real kubectl reads the Lease kate's `LeaderElector` wrote: holder, duration, transitions and
/// the MicroTime stamps under the field names client-go uses (`kubectl get -o json` prints the
/// object as the server holds it; the table form goes through kubectl's own printing).
@Suite("Lease read back by kubectl")
struct LeaseKubectlTests {
    static let kubectl: String? = ["/usr/local/bin/kubectl", "/usr/bin/kubectl"].first { FileManager.default.isExecutableFile(atPath: $0) }

    private static func run(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: kubectl ?? "kubectl")
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let outData = output.fileHandleForReading.readDataToEndOfFile()
        let errData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }

    @Test("kubectl get lease -o json shows kate's holder, MicroTime stamps, duration and transitions", .enabled(if: kubectl != nil, "needs kubectl"))
    func kubectlReadsTheLease() async throws {
        try await withServer { server in
            let directory = try TemporaryDirectory()
            let kubeconfig = try directory.write("kubeconfig", """
                apiVersion: v1
                kind: Config
                clusters: [{name: t, cluster: {server: "\(server.url)", certificate-authority-data: \(Data(server.caPEM.utf8).base64EncodedString())}}]
                users: [{name: t, user: {token: \(server.token)}}]
                contexts: [{name: t, context: {cluster: t, user: t, namespace: kate}}]
                current-context: t
                """)
            let client = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            let log = LeadershipLog()
            let elector = Task {
                try await LeaderElector(client: client, namespace: "kate", name: "kate-sweeper", identity: "kate-sweeper-7d9f", timing: LeaderElectionTests.fast)
                    .run { await log.lead(as: "kate-sweeper-7d9f") }
            }
            _ = try await log.waitForLeader()
            let read = try Self.run(["--kubeconfig", kubeconfig, "--cache-dir", directory.file("cache"), "get", "lease", "kate-sweeper", "-o", "json"])
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
            let table = try Self.run(["--kubeconfig", kubeconfig, "--cache-dir", directory.file("cache"), "get", "lease", "kate-sweeper"])
            #expect(table.status == 0 && table.output.contains("kate-sweeper"), "\(table.errors)")
            await client.shutdown()
        }
    }
}
