#if canImport(Glibc)
import Glibc
#endif
internal import COpenSSL

/// PEM bytes plus a label for messages: the file path, or "in-memory certificate".
struct PEMMaterial: Sendable {
    let bytes: [UInt8]
    let label: String

    /// Reads a `PEMSource`. `what` names the role for messages ("certificate", "private key", "CA").
    static func load(_ source: PEMSource, what: String) throws -> PEMMaterial {
        switch source {
        case .pem(let text):
            return PEMMaterial(bytes: Array(text.utf8), label: "in-memory \(what)")
        case .file(let path):
            return PEMMaterial(bytes: try readFile(path, what: what), label: path)
        }
    }

    /// Every certificate in the PEM, leaf first. Throws if there is none.
    func certificates() throws -> [X509Certificate] {
        OpenSSLErrors.clear()
        let certificates = try MemoryBIO.withReading(bytes) { bio -> [X509Certificate] in
            var found: [X509Certificate] = []
            while let x509 = PEM_read_bio_X509(bio, nil, nil, nil) {
                found.append(X509Certificate(owning: x509))
            }
            return found
        }
        // Reading past the last certificate leaves a benign "no start line" error behind.
        OpenSSLErrors.clear()
        guard !certificates.isEmpty else {
            throw TLSConfigurationError(.notPEM, "\(label) contains no PEM certificate (expected \"-----BEGIN CERTIFICATE-----\")")
        }
        return certificates
    }

    /// The private key (PKCS#8, PKCS#1 RSA or SEC1 EC PEM).
    func privateKey() throws -> PrivateKey {
        OpenSSLErrors.clear()
        let key = try MemoryBIO.withReading(bytes) { PEM_read_bio_PrivateKey($0, nil, nil, nil) }
        guard let key else {
            throw TLSConfigurationError.openSSL(.notPEM, "\(label) contains no readable PEM private key")
        }
        return PrivateKey(owning: key)
    }

    static func readFile(_ path: String, what: String) throws -> [UInt8] {
        let contents: [UInt8]?
        do {
            // PEM files are a few KiB; refuse to slurp something that clearly is not one.
            contents = try Posix.readFile(path, limit: 1 << 20)
        } catch let error as NetError {
            throw TLSConfigurationError(.unreadableFile, "cannot read \(what) \(path): \(error.errno.map(NetError.describe(errno:)) ?? error.message)", cause: error)
        }
        guard let contents else {
            throw TLSConfigurationError(.notPEM, "\(what) \(path) is larger than 1 MiB: not a PEM file?")
        }
        return contents
    }
}
