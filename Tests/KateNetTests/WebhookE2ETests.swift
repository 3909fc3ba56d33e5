import Foundation
import Testing
import RegistryTestSupport
@testable import KateNet

/// Runs the real `kate webhook --self-signed` binary. Enabled when the `kate` executable sits next
/// to the test bundle (a full `swift build`/`swift test`, as CI does) or `KATE_BINARY` names it; a
/// module-only build (`KATE_ONLY=KateNetTests`) reports it as skipped, not passed.
@Suite("kate webhook end to end (the built binary)")
struct WebhookE2ETests {
    static let binary = KateBinary.path

    /// Whether the tests that run the binary run (see `KateBinary.testsRun`).
    static let runsBinary = KateBinary.testsRun

    /// A launched `kate`: KateNet's `SpawnedProcess` (Foundation's `Process` crashes in Swift 6.3.1,
    /// corelibs-foundation PR #5472); dropping it kills and reaps the child.
    final class Launched: Sendable {
        let child: SpawnedProcess
        init(_ child: SpawnedProcess) { self.child = child }
        var isRunning: Bool { child.isRunning }
        /// SIGTERM.
        func terminate() { child.signal(SIGTERM) }
        /// SIGINT.
        func interrupt() { child.signal(SIGINT) }
    }

    /// The read end of the child's stderr, as `Pipe` offered it.
    struct LogPipe {
        let fileHandleForReading: FileHandle
    }

    /// Starts `kate` with `arguments`, HOME in `directory`, stderr piped (the log) and stdout dropped.
    static func launch(_ arguments: [String], home directory: String) throws -> (Launched, LogPipe) {
        let child = try SpawnedProcess(
            executable: try #require(binary, "the kate binary was not built next to the tests (or named by KATE_BINARY)"), arguments: arguments,
            environment: ["PATH": "/usr/bin:/bin", "HOME": directory], stdout: .discard, stderr: .pipe)
        // A close-on-exec duplicate the FileHandle owns: a reader still draining it (boundPorts) must not see the
        // descriptor closed under it when the child object goes away.
        let stderr = fcntl(try #require(child.standardError), F_DUPFD_CLOEXEC, 0)
        guard stderr >= 0 else { throw NetError(errno: errno, operation: "dup of kate's stderr") }
        return (Launched(child), LogPipe(fileHandleForReading: FileHandle(fileDescriptor: stderr, closeOnDealloc: true)))
    }

    @Test("--self-signed serves /healthz, /readyz, /metrics over TLS; SIGTERM exits 0", .enabled(if: runsBinary, "kate binary not built"))
    func selfSigned() async throws {
        let directory = try NetHTTPFiles.temporaryDirectory()
        defer { NetHTTPFiles.remove(directory) }
        let caPath = directory + "/ca.pem"
        let (process, stderr) = try Self.launch(
            ["webhook", "--self-signed", "--listen", "127.0.0.1:0", "--ca-out", caPath, "--pull-secrets", "off", "--grace-period", "5s"],
            home: directory)
        defer { if process.isRunning { process.terminate() } }

        let port = try await Self.boundPort(from: stderr.fileHandleForReading)
        let ca = try String(contentsOfFile: caPath, encoding: .utf8)
        let client = HTTPClient(configuration: .init(tls: .init(useSystemTrustStore: false, additionalTrustRoots: [.pem(ca)])))
        for (path, status) in [("/healthz", 200), ("/readyz", 200), ("/nope", 404)] {
            let response = try await client.execute(.init(url: "https://localhost:\(port)\(path)"), deadline: .now + .seconds(30))
            #expect(response.status == status, "\(path)")
        }
        let metrics = try await client.execute(.init(url: "https://127.0.0.1:\(port)/metrics"), deadline: .now + .seconds(30))
        let text = String(decoding: metrics.body, as: UTF8.self)
        #expect(text.contains("kate_http_requests_total"), "\(text.prefix(400))")
        await client.shutdown()

        process.interrupt()  // SIGINT; SIGTERM takes the same path
        let status = await Self.exitStatus(of: process)
        #expect(status == 0)
    }

    @Test("a broken kubeconfig is a start-up error naming the file, not a webhook silently without pull secrets",
          .enabled(if: runsBinary, "kate binary not built"))
    func brokenKubeconfigFailsStartUp() async throws {
        let directory = try NetHTTPFiles.temporaryDirectory()
        defer { NetHTTPFiles.remove(directory) }
        let kubeconfig = directory + "/kubeconfig"
        try "apiVersion: v1\nkind: Config\nclusters: [ {name: \n".write(toFile: kubeconfig, atomically: true, encoding: .utf8)
        // --pull-secrets is left at its default, auto: before, auto read a broken kubeconfig as "no cluster".
        let (process, stderr) = try Self.launch(
            ["webhook", "--self-signed", "--listen", "127.0.0.1:0", "--kubeconfig", kubeconfig], home: directory)
        defer { if process.isRunning { process.terminate() } }
        let status = await Self.exitStatus(of: process)
        let log = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(status != 0, "\(log)")
        #expect(log.contains(kubeconfig), "\(log)")
    }

    /// Reads the log until "listening on 127.0.0.1:PORT".
    static func boundPort(from handle: FileHandle) async throws -> Int {
        try await HealthListenerBinaryTests.boundPorts(1, from: handle)[0]
    }

    static func exitStatus(of process: Launched) async -> Int32 {
        await process.child.wait()
    }
}
