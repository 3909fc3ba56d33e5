import Foundation
import Logging
@testable import KateNet

/// A throwaway CA, a serving certificate for localhost/127.0.0.1/::1 and the contexts built
/// from them, as PEM strings (tests that need files write them to a temporary directory).
struct NetHTTPTestTLS: Sendable {
    let authority: CertificateAuthority
    let serving: IssuedCertificate
    let serverContext: TLSServerContext
    let clientContext: TLSClientContext

    /// - Parameter files: (certificate, key) paths: the serving cert is written there and loaded
    ///   from the files (so it can be hot-reloaded); otherwise it is loaded from memory.
    static func make(authority given: CertificateAuthority? = nil, files: (String, String)? = nil) throws -> NetHTTPTestTLS {
        let authority = try given ?? CertificateAuthority.generate(commonName: "kate test CA")
        let serving = try authority.issue(commonName: "localhost", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1", "::1"])
        var logger = Logger(label: "test.tls")
        logger.logLevel = .critical
        let serverContext: TLSServerContext
        if let (certificatePath, keyPath) = files {
            try NetHTTPFiles.write(serving.certificatePEM, to: certificatePath)
            try NetHTTPFiles.write(serving.privateKeyPEM, to: keyPath)
            serverContext = try TLSServerContext(certificateChain: .file(certificatePath), privateKey: .file(keyPath), logger: logger)
        } else {
            serverContext = try TLSServerContext(certificateChain: .pem(serving.certificatePEM), privateKey: .pem(serving.privateKeyPEM), logger: logger)
        }
        let clientContext = try TLSClientContext(configuration: clientConfiguration(authority))
        return NetHTTPTestTLS(authority: authority, serving: serving, serverContext: serverContext, clientContext: clientContext)
    }

    static func clientConfiguration(_ authority: CertificateAuthority) -> TLSClientConfiguration {
        TLSClientConfiguration(useSystemTrustStore: false, additionalTrustRoots: [.pem(authority.certificatePEM)])
    }
}

extension NetHTTPTestServer.Transport {
    /// The transports server tests run over.
    static let all: [NetHTTPTestServer.Transport] = [.plain, .tls]
}

/// Temporary files for tests that need paths (certificates for reload, curl's --cacert).
enum NetHTTPFiles {
    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "kate-nethttp-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Writes through a temporary name and renames, so a reader never sees half a file.
    static func write(_ text: String, to path: String) throws {
        let temporary = path + ".tmp-" + UUID().uuidString
        try text.write(toFile: temporary, atomically: false, encoding: .utf8)
        guard rename(temporary, path) == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    static func remove(_ path: String) { try? FileManager.default.removeItem(atPath: path) }
}
