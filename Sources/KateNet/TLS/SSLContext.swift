internal import COpenSSL
internal import CKateShims

/// Everything one SSL_CTX is made of. `SSLContext` applies all of it in its initializer and offers no way to
/// change the context afterwards.
struct SSLContextConfiguration: Sendable {
    enum Role: Sendable { case server, client }

    enum PeerVerification: Sendable {
        /// No certificate is asked for or checked (a server without mutual TLS; an insecure client).
        case none
        /// The peer's certificate must chain to `trustRoots` (a client checking its server).
        case verifyPeer
        /// The peer must present a certificate, and it must chain to `trustRoots` (a server with mutual TLS).
        case requirePeerCertificate
    }

    /// A certificate chain (leaf first) and the leaf's private key.
    struct Identity: Sendable {
        var chain: PEMMaterial
        var key: PEMMaterial
    }

    var role: Role
    var identity: Identity?
    /// A CA bundle file loaded with `SSL_CTX_load_verify_locations` (the system store), or the default paths.
    var systemTrust: SystemTrust = .none
    var trustRoots: [PEMMaterial] = []
    var peerVerification: PeerVerification = .none
    /// TLS 1.2 cipher list (TLS 1.3 suites are all AEAD and left at OpenSSL's defaults).
    var tls12Ciphers: String?
    var preferServerCipherOrder = false
    /// Client: the ALPN protocols to offer.
    var alpnOffer: [String] = []
    /// Server: answer ALPN with `http/1.1` when offered, and with no ALPN otherwise.
    var selectHTTP11ALPN = false
    /// Server: the session id context, needed for resumption once client certificates are verified.
    var sessionIDContext: [UInt8] = []

    enum SystemTrust: Sendable, Equatable {
        case none
        case bundle(path: String)
        case defaultPaths
    }
}

/// Owns one SSL_CTX, built completely from an `SSLContextConfiguration` in `init` and never changed afterwards,
/// which is what makes sharing it across threads safe (OpenSSL allows concurrent SSL_new on a configured SSL_CTX);
/// hence `@unchecked Sendable`. Each SSL made from it holds its own OpenSSL reference, so connections outlive a
/// hot-reload swap of this wrapper.
final class SSLContext: @unchecked Sendable {
    let pointer: OpaquePointer

    init(_ configuration: SSLContextConfiguration) throws {
        OpenSSLErrors.clear()
        let method = configuration.role == .server ? TLS_server_method() : TLS_client_method()
        guard let ctx = SSL_CTX_new(method) else {
            throw TLSConfigurationError.openSSL(.internalFailure, "SSL_CTX_new failed")
        }
        // From here on `deinit` frees the context if a later step throws.
        pointer = ctx
        try Self.applyProtocolPolicy(ctx, configuration)
        if let identity = configuration.identity { try Self.useIdentity(ctx, identity) }
        try Self.applyTrust(ctx, configuration)
        try Self.applyALPN(ctx, configuration)
    }

    deinit { SSL_CTX_free(pointer) }

    private static func check(_ ok: Bool, _ what: @autoclosure () -> String) throws {
        guard ok else { throw TLSConfigurationError.openSSL(.rejected, what()) }
    }

    private static func applyProtocolPolicy(_ ctx: OpaquePointer, _ configuration: SSLContextConfiguration) throws {
        // TLS 1.0/1.1 are deprecated (RFC 8996): refused on both sides.
        try check(ckate_SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1, "cannot set minimum TLS version 1.2")
        // No compression (CRIME), no renegotiation (a CPU-exhaustion lever for clients). A peer closing
        // without close_notify reads as EOF: HTTP framing already detects truncated messages.
        var options = ckate_SSL_OP_NO_COMPRESSION() | ckate_SSL_OP_NO_RENEGOTIATION() | ckate_SSL_OP_IGNORE_UNEXPECTED_EOF()
        if configuration.preferServerCipherOrder { options |= ckate_SSL_OP_CIPHER_SERVER_PREFERENCE() }
        _ = SSL_CTX_set_options(ctx, options)
        // Partial writes + moving buffer: TLSStream.write may retry with a different slice after WANT_WRITE.
        // Release buffers: an idle keep-alive connection then holds no 34 KiB read/write buffers.
        _ = ckate_SSL_CTX_set_mode(ctx, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS))
        if let ciphers = configuration.tls12Ciphers {
            try check(SSL_CTX_set_cipher_list(ctx, ciphers) == 1, "cannot set TLS 1.2 cipher list")
        }
        if configuration.role == .server {
            // No server-side session cache (OpenSSL's default keeps up to 20,480 sessions in
            // memory): the apiserver reuses keep-alive connections, and resumption still works
            // through stateless TLS 1.3 tickets, which cost the server no memory.
            _ = ckate_SSL_CTX_set_session_cache_mode(ctx, Int(SSL_SESS_CACHE_OFF))
        }
        if !configuration.sessionIDContext.isEmpty {
            let context = configuration.sessionIDContext
            try check(SSL_CTX_set_session_id_context(ctx, context, UInt32(context.count)) == 1, "cannot set the session id context")
        }
    }

    /// Installs a certificate chain (leaf first) and its key, and proves they belong together.
    private static func useIdentity(_ ctx: OpaquePointer, _ identity: SSLContextConfiguration.Identity) throws {
        let certificates = try identity.chain.certificates()
        let privateKey = try identity.key.privateKey()
        OpenSSLErrors.clear()
        try check(SSL_CTX_use_certificate(ctx, certificates[0].pointer) == 1, "certificate \(identity.chain.label) was rejected")
        for intermediate in certificates.dropFirst() {
            try check(ckate_SSL_CTX_add1_chain_cert(ctx, intermediate.pointer) == 1, "intermediate certificate in \(identity.chain.label) was rejected")
        }
        try check(SSL_CTX_use_PrivateKey(ctx, privateKey.pointer) == 1, "private key \(identity.key.label) was rejected")
        guard SSL_CTX_check_private_key(ctx) == 1 else {
            throw TLSConfigurationError.openSSL(
                .keyMismatch, "private key \(identity.key.label) does not match certificate \(identity.chain.label)")
        }
    }

    private static func applyTrust(_ ctx: OpaquePointer, _ configuration: SSLContextConfiguration) throws {
        switch configuration.systemTrust {
        case .none: break
        case .bundle(let path):
            try check(SSL_CTX_load_verify_locations(ctx, path, nil) == 1, "cannot load system CA bundle \(path)")
        case .defaultPaths:
            try check(SSL_CTX_set_default_verify_paths(ctx) == 1, "cannot load the system CA store")
        }
        if !configuration.trustRoots.isEmpty {
            guard let store = SSL_CTX_get_cert_store(ctx) else {
                throw TLSConfigurationError.openSSL(.internalFailure, "SSL_CTX_get_cert_store failed")
            }
            for material in configuration.trustRoots { try trust(material, in: store) }
        }
        switch configuration.peerVerification {
        case .none: SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
        case .verifyPeer: SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
        case .requirePeerCertificate: SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
        }
    }

    /// Adds CA certificates to the verification store.
    private static func trust(_ material: PEMMaterial, in store: OpaquePointer) throws {
        for certificate in try material.certificates() {
            OpenSSLErrors.clear()
            if X509_STORE_add_cert(store, certificate.pointer) != 1 {
                // The same CA listed twice is harmless; anything else is a real problem.
                let reason = OpenSSLErrors.peekReason() ?? ""
                let queue = OpenSSLErrors.drain()
                if !reason.contains("already in hash table") {
                    throw TLSConfigurationError(.rejected, "cannot trust CA from \(material.label)", openSSLErrors: queue)
                }
            }
        }
    }

    private static func applyALPN(_ ctx: OpaquePointer, _ configuration: SSLContextConfiguration) throws {
        if configuration.selectHTTP11ALPN { SSL_CTX_set_alpn_select_cb(ctx, selectHTTP11, nil) }
        if !configuration.alpnOffer.isEmpty {
            let wire = try alpnWireFormat(configuration.alpnOffer)
            // Unlike the rest of libssl, 0 means success here.
            try check(SSL_CTX_set_alpn_protos(ctx, wire, UInt32(wire.count)) == 0, "cannot set ALPN protocols")
        }
    }

    /// RFC 7301 protocol list: each name prefixed by its length.
    static func alpnWireFormat(_ protocols: [String]) throws -> [UInt8] {
        var wire: [UInt8] = []
        for name in protocols {
            let bytes = Array(name.utf8)
            guard (1...255).contains(bytes.count) else {
                throw TLSConfigurationError(.invalidArgument, "invalid ALPN protocol name \"\(name)\"")
            }
            wire.append(UInt8(bytes.count))
            wire += bytes
        }
        return wire
    }
}

/// ALPN selection (RFC 7301): `http/1.1` if the client offers it; otherwise no ALPN at all (NOACK), so a
/// client that offers only `h2` is still served HTTP/1.1 rather than failing the handshake.
/// Capture-free so it converts to a C function pointer; `out` points into the client's list, which OpenSSL keeps alive.
private let selectHTTP11: @convention(c) (
    OpaquePointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, UnsafeMutablePointer<UInt8>?,
    UnsafePointer<UInt8>?, UInt32, UnsafeMutableRawPointer?
) -> Int32 = { _, out, outLength, offered, offeredLength, _ in
    guard let out, let outLength, let offered else { return SSL_TLSEXT_ERR_NOACK }
    let list = UnsafeBufferPointer(start: offered, count: Int(offeredLength))
    var index = 0
    while index < list.count {
        let length = Int(list[index])
        let start = index + 1
        guard start + length <= list.count else { break }  // malformed list: ignore the rest
        if list[start..<start + length].elementsEqual("http/1.1".utf8) {
            out.pointee = offered + start
            outLength.pointee = UInt8(length)
            return SSL_TLSEXT_ERR_OK
        }
        index = start + length
    }
    return SSL_TLSEXT_ERR_NOACK
}
