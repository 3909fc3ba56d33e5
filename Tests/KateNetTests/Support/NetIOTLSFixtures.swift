import Foundation
import Logging
import Synchronization
@testable import KateNet

/// A CA with a localhost serving certificate and the contexts tests need.
struct NetIOTLSFixture: Sendable {
    let authority: CertificateAuthority
    let serving: IssuedCertificate

    init(keyType: CertificateAuthority.KeyType = .ecdsaP256, commonName: String = "localhost") throws {
        authority = try CertificateAuthority.generate(commonName: "kate net-io test CA")
        serving = try authority.issue(
            commonName: commonName, dnsNames: ["localhost"], ipAddresses: ["127.0.0.1", "::1"], keyType: keyType)
    }

    static let quietLogger: Logger = {
        var logger = Logger(label: "kate.test.tls")
        logger.logLevel = .critical
        return logger
    }()

    func serverContext(clientTrustRoots: [PEMSource] = []) throws -> TLSServerContext {
        try TLSServerContext(
            certificateChain: .pem(serving.certificatePEM), privateKey: .pem(serving.privateKeyPEM),
            clientTrustRoots: clientTrustRoots, logger: Self.quietLogger)
    }

    func clientContext(_ configure: (inout TLSClientConfiguration) -> Void = { _ in }) throws -> TLSClientContext {
        var configuration = TLSClientConfiguration(useSystemTrustStore: false, additionalTrustRoots: [.pem(authority.certificatePEM)])
        configure(&configuration)
        return try TLSClientContext(configuration: configuration)
    }
}

/// A loopback TLS echo server: accepts, handshakes, echoes until EOF. Records handshake errors.
final class NetIOTLSEchoServer: Sendable {
    let listener: TCPListener
    let context: TLSServerContext
    private let task: Mutex<Task<Void, Never>?> = Mutex(nil)
    private let failures = Mutex<[any Error]>([])
    private let handshakes = Mutex<[TLSStream]>([])
    let handshakeTimeout: Duration

    var port: Int { listener.localPort }
    var handshakeErrors: [any Error] { failures.withLock { $0 } }
    var acceptedStreams: [TLSStream] { handshakes.withLock { $0 } }

    init(context: TLSServerContext, handshakeTimeout: Duration = .seconds(10)) throws {
        self.listener = try TCPListener(host: "127.0.0.1", port: 0)
        self.context = context
        self.handshakeTimeout = handshakeTimeout
        let run = Task { [self] in await self.serve() }
        task.withLock { $0 = run }
    }

    private func serve() async {
        // Discarding: a long-lived accept loop must not keep every finished child task around.
        await withDiscardingTaskGroup { group in
            while let tcp = try? await listener.accept() {
                group.addTask { await self.handle(tcp) }
            }
            group.cancelAll()
        }
    }

    private func handle(_ tcp: TCPStream) async {
        let tls: TLSStream
        do {
            tls = try await TLSStream.accept(tcp, context: context, deadline: .now + handshakeTimeout)
        } catch {
            failures.withLock { $0.append(error) }
            return
        }
        handshakes.withLock { $0.append(tls) }
        // Echo until EOF; errors after the handshake are the client's business.
        while let bytes = try? await tls.read(maxBytes: 16384, deadline: NetIOTest.deadline(30)), !bytes.isEmpty {
            guard (try? await tls.write(bytes, deadline: NetIOTest.deadline(30))) != nil else { break }
        }
        await tls.close()
    }

    func stop() async {
        listener.close()
        for stream in acceptedStreams { await stream.close() }
        await task.withLock { $0 }?.value
    }

    /// Connects with kate's own client and returns the stream after the handshake.
    func connect(_ client: TLSClientContext, serverName: String = "localhost") async throws -> TLSStream {
        let tcp = try await TCPStream.connect(host: "127.0.0.1", port: port, deadline: NetIOTest.deadline())
        return try await TLSStream.connect(tcp, context: client, serverName: serverName, deadline: NetIOTest.deadline())
    }

    /// Waits (bounded) until the server recorded `count` handshake failures.
    func waitForHandshakeErrors(_ count: Int) async -> [any Error] {
        _ = await NetIOTest.eventually { handshakeErrors.count >= count }
        return handshakeErrors
    }
}

/// Runs `/usr/bin/openssl` with `input` on stdin on a dedicated thread (never blocking the cooperative pool,
/// which the server under test needs); kills it after `timeout`. Returns its exit status and combined output.
/// Through `ChildProcessRunner` (posix_spawn): Foundation's `Process.run()` crashed this target once in CI.
func runOpenSSL(_ arguments: [String], input: String = "", timeout: Duration = .seconds(20)) async throws -> (status: Int32, output: String) {
    let output = try await ChildProcessRunner.run(
        executable: "/usr/bin/openssl", arguments: arguments, input: Array(input.utf8), mergeStandardError: true, timeout: timeout)
    return (output.status, String(decoding: output.stdout, as: UTF8.self))
}

/// A fresh temporary directory, removed by `remove()`.
struct NetIOTemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "kate-netio-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ contents: String) throws -> String {
        let file = path + "/" + name
        try contents.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
