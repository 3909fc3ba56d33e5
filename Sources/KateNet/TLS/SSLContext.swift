internal import COpenSSL
internal import CKateShims

/// Owns one SSL_CTX. Configured once in its initializer's caller and never changed afterwards, which is
/// what makes sharing it across threads safe (OpenSSL allows concurrent SSL_new on a configured SSL_CTX);
/// hence `@unchecked Sendable`. Each SSL made from it holds its own OpenSSL reference, so connections
/// outlive a hot-reload swap of this wrapper.
final class SSLContext: @unchecked Sendable {
    let pointer: OpaquePointer

    init(server: Bool) throws {
        OpenSSLErrors.clear()
        guard let ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()) else {
            throw TLSConfigurationError(OpenSSLErrors.describe("SSL_CTX_new failed"))
        }
        pointer = ctx
        // TLS 1.0/1.1 are deprecated (RFC 8996): refused on both sides.
        try check(ckate_SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1, "cannot set minimum TLS version 1.2")
        // No compression (CRIME), no renegotiation (a CPU-exhaustion lever for clients). A peer closing
        // without close_notify reads as EOF: HTTP framing already detects truncated messages.
        _ = SSL_CTX_set_options(ctx, ckate_SSL_OP_NO_COMPRESSION() | ckate_SSL_OP_NO_RENEGOTIATION() | ckate_SSL_OP_IGNORE_UNEXPECTED_EOF())
        // Partial writes + moving buffer: TLSStream.write may retry with a different slice after WANT_WRITE.
        // Release buffers: an idle keep-alive connection then holds no 34 KiB read/write buffers.
        _ = ckate_SSL_CTX_set_mode(ctx, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS))
        if server {
            // No server-side session cache (OpenSSL's default keeps up to 20,480 sessions in
            // memory): the apiserver reuses keep-alive connections, and resumption still works
            // through stateless TLS 1.3 tickets, which cost the server no memory.
            _ = ckate_SSL_CTX_set_session_cache_mode(ctx, Int(SSL_SESS_CACHE_OFF))
        }
    }

    deinit { SSL_CTX_free(pointer) }

    func check(_ ok: Bool, _ what: @autoclosure () -> String) throws {
        guard ok else { throw TLSConfigurationError(OpenSSLErrors.describe(what())) }
    }

    /// Installs a certificate chain (leaf first) and its key, and proves they belong together.
    func useIdentity(chain: PEMMaterial, key: PEMMaterial) throws {
        let certificates = try chain.certificates()
        let privateKey = try key.privateKey()
        OpenSSLErrors.clear()
        try check(SSL_CTX_use_certificate(pointer, certificates[0].pointer) == 1, "certificate \(chain.label) was rejected")
        for intermediate in certificates.dropFirst() {
            try check(ckate_SSL_CTX_add1_chain_cert(pointer, intermediate.pointer) == 1, "intermediate certificate in \(chain.label) was rejected")
        }
        try check(SSL_CTX_use_PrivateKey(pointer, privateKey.pointer) == 1, "private key \(key.label) was rejected")
        guard SSL_CTX_check_private_key(pointer) == 1 else {
            OpenSSLErrors.clear()
            throw TLSConfigurationError("private key \(key.label) does not match certificate \(chain.label)")
        }
    }

    /// Adds CA certificates to the verification store.
    func trust(_ material: PEMMaterial) throws {
        guard let store = SSL_CTX_get_cert_store(pointer) else {
            throw TLSConfigurationError(OpenSSLErrors.describe("SSL_CTX_get_cert_store failed"))
        }
        for certificate in try material.certificates() {
            OpenSSLErrors.clear()
            if X509_STORE_add_cert(store, certificate.pointer) != 1 {
                // The same CA listed twice is harmless; anything else is a real problem.
                let reason = OpenSSLErrors.peekReason() ?? ""
                let queue = OpenSSLErrors.drain()
                if !reason.contains("already in hash table") {
                    throw TLSConfigurationError("cannot trust CA from \(material.label): \(queue.joined(separator: "; "))")
                }
            }
        }
    }
}
