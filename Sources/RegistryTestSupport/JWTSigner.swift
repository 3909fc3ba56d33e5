import COpenSSL
import Foundation
import KateNet

/// Signs JSON Web Tokens with RS256 (RSASSA-PKCS1-v1_5 over SHA-256) using OpenSSL's EVP API —
/// what the test token server hands out and distribution's token auth verifies.
final class JWTSigner: @unchecked Sendable {
    // @unchecked: `key` is loaded once and never mutated; OpenSSL 3 allows concurrent signing with
    // one EVP_PKEY (each signature uses its own EVP_MD_CTX).
    private let key: OpaquePointer
    /// The signing certificate's DER, base64 (standard alphabet), for the `x5c` header.
    private let certificateDER: String

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    init(privateKeyPEM: String, certificatePEM: String) throws {
        let bytes = Array(privateKeyPEM.utf8)
        let loaded: OpaquePointer? = bytes.withUnsafeBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_PrivateKey(bio, nil, nil, nil)
        }
        guard let loaded else { throw Failure(description: "cannot read the token signing key") }
        key = loaded
        certificateDER = Self.pemBody(certificatePEM)
    }

    deinit { EVP_PKEY_free(key) }

    /// `header.payload.signature`, each base64url without padding.
    func token(claims: [String: Any]) throws -> String {
        let header: [String: Any] = ["typ": "JWT", "alg": "RS256", "x5c": [certificateDER]]
        let signingInput = try Self.base64URL(JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
            + "." + Self.base64URL(JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys]))
        let signature = try sign(Array(signingInput.utf8))
        return signingInput + "." + Self.base64URL(Data(signature))
    }

    private func sign(_ message: [UInt8]) throws -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else { throw Failure(description: "EVP_MD_CTX_new failed") }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestSignInit(context, nil, EVP_sha256(), nil, key) == 1 else {
            throw Failure(description: "EVP_DigestSignInit failed")
        }
        var length = 0
        guard EVP_DigestSign(context, nil, &length, message, message.count) == 1 else {
            throw Failure(description: "EVP_DigestSign (size) failed")
        }
        var signature = [UInt8](repeating: 0, count: length)
        guard EVP_DigestSign(context, &signature, &length, message, message.count) == 1 else {
            throw Failure(description: "EVP_DigestSign failed")
        }
        return Array(signature.prefix(length))
    }

    static func base64URL(_ data: Data) -> String {
        Base64.encode(Array(data))
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The base64 between the PEM armour lines is the DER in standard base64.
    static func pemBody(_ pem: String) -> String {
        pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
    }
}
