internal import COpenSSL
internal import CKateShims

/// Builds and signs X.509 v3 certificates with OpenSSL's X509 API (no `openssl` shell-out).
struct X509Builder {
    var commonName: String
    var organization = "kate"
    var subjectKey: PrivateKey
    var validFor: Duration
    /// (NID, OpenSSL v3 config value) in the order they are added: SKI must precede AKI.
    var extensions: [(Int32, String)]

    /// Signs with `issuerKey`; `issuer` nil means self-signed (a CA).
    func sign(issuer: X509Certificate?, issuerKey: PrivateKey) throws -> X509Certificate {
        OpenSSLErrors.clear()
        guard let x509 = X509_new() else { throw failure("X509_new") }
        let certificate = X509Certificate(owning: x509)
        try check(X509_set_version(x509, 2), "X509_set_version")  // 2 = v3
        try setRandomSerial(x509)
        // Five minutes of slack so a peer whose clock runs slightly behind accepts a fresh certificate.
        try check(X509_gmtime_adj(X509_getm_notBefore(x509), -300) != nil ? 1 : 0, "notBefore")
        try check(X509_gmtime_adj(X509_getm_notAfter(x509), Int(validFor.components.seconds)) != nil ? 1 : 0, "notAfter")
        try check(X509_set_pubkey(x509, subjectKey.pointer), "X509_set_pubkey")
        guard let name = X509_NAME_new() else { throw failure("X509_NAME_new") }
        defer { X509_NAME_free(name) }
        try check(X509_NAME_add_entry_by_txt(name, "O", ckate_MBSTRING_ASC(), organization, -1, -1, 0), "subject O")
        try check(X509_NAME_add_entry_by_txt(name, "CN", ckate_MBSTRING_ASC(), commonName, -1, -1, 0), "subject CN \"\(commonName)\"")
        try check(X509_set_subject_name(x509, name), "X509_set_subject_name")
        let issuerName = issuer.map { X509_get_subject_name($0.pointer) } ?? name
        try check(X509_set_issuer_name(x509, issuerName), "X509_set_issuer_name")

        var context = X509V3_CTX()
        X509V3_set_ctx(&context, issuer?.pointer ?? x509, x509, nil, nil, 0)
        for (nid, value) in extensions {
            guard let ext = X509V3_EXT_conf_nid(nil, &context, nid, value) else {
                throw failure("certificate extension \(String(cString: OBJ_nid2sn(nid))) = \"\(value)\"")
            }
            defer { X509_EXTENSION_free(ext) }
            try check(X509_add_ext(x509, ext, -1), "X509_add_ext")
        }
        guard X509_sign(x509, issuerKey.pointer, EVP_sha256()) > 0 else { throw failure("X509_sign") }
        return certificate
    }

    /// 16 random bytes, top bit clear so the DER INTEGER stays positive (RFC 5280 §4.1.2.2: ≤ 20 octets).
    private func setRandomSerial(_ x509: OpaquePointer) throws {
        var bytes = [UInt8](repeating: 0, count: 16)
        try check(RAND_bytes(&bytes, Int32(bytes.count)), "RAND_bytes")
        bytes[0] = (bytes[0] & 0x7f) | 0x01
        guard let number = BN_bin2bn(bytes, Int32(bytes.count), nil) else { throw failure("BN_bin2bn") }
        defer { BN_free(number) }
        guard BN_to_ASN1_INTEGER(number, X509_get_serialNumber(x509)) != nil else { throw failure("serial number") }
    }

    private func check(_ result: Int32, _ what: String) throws {
        if result != 1 { throw failure(what) }
    }

    private func failure(_ what: String) -> TLSConfigurationError {
        TLSConfigurationError.openSSL(.internalFailure, "cannot build certificate \"\(commonName)\": \(what) failed")
    }

    static func generateKey(_ type: CertificateAuthority.KeyType) throws -> PrivateKey {
        OpenSSLErrors.clear()
        let key = switch type {
        case .ecdsaP256: ckate_generate_ec_p256()
        case .rsa2048: ckate_generate_rsa(2048)
        }
        guard let key else { throw TLSConfigurationError.openSSL(.internalFailure, "cannot generate a \(type) key") }
        return PrivateKey(owning: key)
    }
}
