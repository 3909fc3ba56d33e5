internal import COpenSSL
internal import CKateShims

/// Owns one X509*. Immutable once built, so it may cross threads.
final class X509Certificate: @unchecked Sendable {
    let pointer: OpaquePointer
    init(owning pointer: OpaquePointer) { self.pointer = pointer }
    deinit { X509_free(pointer) }

    /// The subject as one line in RFC 2253 order: "CN=kate.default.svc,O=kate".
    var subject: String {
        guard let name = X509_get_subject_name(pointer) else { return "" }
        return MemoryBIO.withNew { X509_NAME_print_ex($0, name, 0, ckate_XN_FLAG_RFC2253()) } ?? ""
    }

    var pem: String? { MemoryBIO.withNew { PEM_write_bio_X509($0, pointer) } }
}

/// Owns one EVP_PKEY* (RSA or EC).
final class PrivateKey: @unchecked Sendable {
    let pointer: OpaquePointer
    init(owning pointer: OpaquePointer) { self.pointer = pointer }
    deinit { EVP_PKEY_free(pointer) }

    /// PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----").
    var pem: String? { MemoryBIO.withNew { PEM_write_bio_PrivateKey($0, pointer, nil, nil, 0, nil, nil) } }
}

/// Scoped memory BIOs for PEM parsing and printing.
enum MemoryBIO {
    /// Runs `body` with a read-only BIO over `bytes`.
    static func withReading<T>(_ bytes: [UInt8], _ body: (OpaquePointer) throws -> T) throws -> T {
        try bytes.withUnsafeBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else {
                throw TLSConfigurationError.openSSL(.internalFailure, "BIO_new_mem_buf failed")
            }
            defer { BIO_free(bio) }
            return try body(bio)
        }
    }

    /// Runs `write` against a fresh memory BIO and returns what it wrote, or nil if `write` reported failure (≤ 0).
    static func withNew(_ write: (OpaquePointer) -> Int32) -> String? {
        guard let bio = BIO_new(BIO_s_mem()) else { return nil }
        defer { BIO_free(bio) }
        guard write(bio) > 0 else { return nil }
        var data: UnsafeMutablePointer<CChar>?
        let length = ckate_BIO_get_mem_data(bio, &data)
        guard let data, length > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }
}
