import Foundation
import KateKube
import KubeTestServer
import Logging

/// A quiet logger: tests assert on behaviour, not on log lines.
let testLogger: Logger = {
    var logger = Logger(label: "kate.kube-tests")
    logger.logLevel = .critical
    return logger
}()

/// Runs `body` against a fresh test API server and always stops it.
func withServer<T>(
    requireClientCertificate: Bool = false, _ body: (KubeTestServer) async throws -> T
) async throws -> T {
    let server = try await KubeTestServer.start(requireClientCertificate: requireClientCertificate, logger: testLogger)
    do {
        let result = try await body(server)
        await server.stop()
        return result
    } catch {
        await server.stop()
        throw error
    }
}

/// A temporary directory removed when the value is released at the end of a test.
final class TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "kate-kube-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `contents` to `name` (creating parent directories) and returns the full path.
    @discardableResult
    func write(_ name: String, _ contents: String, executable: Bool = false) throws -> String {
        let full = (path as NSString).appendingPathComponent(name)
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try contents.write(toFile: full, atomically: false, encoding: .utf8)
        if executable { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: full) }
        return full
    }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
}

extension String {
    var base64: String { Data(utf8).base64EncodedString() }
}
