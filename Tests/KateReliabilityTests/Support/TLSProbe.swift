import Foundation
import KateNet

/// Opens a fresh TLS connection (a full handshake) to a loopback server and reports what it was
/// served, then sends one `GET /healthz` (or `path`) so the test knows the server still answers requests.
enum TLSProbe {
    struct Result {
        var subject: String?
        var status: Int?
    }

    static func probe(port: Int, trusting caPEM: String, path: String = "/healthz") async throws -> Result {
        let context = try TLSClientContext(configuration: TLSClientConfiguration(useSystemTrustStore: false, additionalTrustRoots: [.pem(caPEM)]))
        let deadline = ContinuousClock.now + .seconds(5)
        let tcp = try await TCPStream.connect(host: "127.0.0.1", port: port, deadline: deadline)
        let tls = try await TLSStream.connect(tcp, context: context, serverName: "localhost", deadline: deadline)
        try await tls.write(Array("GET \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".utf8), deadline: deadline)
        var received: [UInt8] = []
        while true {
            let chunk = try await tls.read(maxBytes: 4096, deadline: deadline)
            if chunk.isEmpty { break }
            received += chunk
        }
        await tls.close()
        let statusLine = String(decoding: received.prefix { $0 != 0x0D }, as: UTF8.self)
        let status = statusLine.split(separator: " ").dropFirst().first.flatMap { Int($0) }
        return Result(subject: tls.peerCertificateSubject, status: status)
    }
}

/// A directory of throwaway files, removed when the test is done with it.
final class ScratchDirectory: Sendable {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "kate-reliability-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    /// Replaces `name` the way a Secret volume or cert-manager does: write a new file, rename over.
    func replace(_ name: String, with contents: String) throws {
        let temporary = file(".\(name).new")
        try contents.write(toFile: temporary, atomically: false, encoding: .utf8)
        guard rename(temporary, file(name)) == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
