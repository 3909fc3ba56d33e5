internal import COpenSSL
internal import CKateShims

/// TLS over a `TCPStream`, non-blocking: OpenSSL's WANT_READ/WANT_WRITE park the task on the reactor.
public final class TLSStream: ByteStream {
    private let connection: SSLConnection
    private let tcp: TCPStream
    /// The protocol ALPN settled on ("http/1.1"), nil if none was negotiated.
    public let negotiatedALPN: String?
    /// "TLSv1.3" / "TLSv1.2".
    public let protocolVersion: String
    /// The negotiated cipher suite ("TLS_AES_256_GCM_SHA384").
    public let cipherSuite: String
    /// The peer certificate's subject ("CN=kate.default.svc"), nil if it sent none.
    public let peerCertificateSubject: String?
    public var remoteAddress: String { tcp.remoteAddress }

    private init(connection: SSLConnection, tcp: TCPStream) throws {
        self.connection = connection
        self.tcp = tcp
        (negotiatedALPN, protocolVersion, cipherSuite, peerCertificateSubject) = try connection.withSSL { ssl in
            var alpn: UnsafePointer<UInt8>?
            var alpnLength: UInt32 = 0
            SSL_get0_alpn_selected(ssl, &alpn, &alpnLength)
            let protocolName = alpn.map { String(decoding: UnsafeBufferPointer(start: $0, count: Int(alpnLength)), as: UTF8.self) }
            let version = SSL_get_version(ssl).map { String(cString: $0) } ?? "unknown"
            let cipher = ckate_SSL_get_cipher(ssl).map { String(cString: $0) } ?? "unknown"
            let subject = SSL_get1_peer_certificate(ssl).map { X509Certificate(owning: $0).subject }
            return (protocolName, version, cipher, subject)
        }
    }

    /// Runs the server side of the handshake on an accepted connection, with the context's current certificate.
    ///
    /// - Throws: `NetError` — `.tls(reason)` for a protocol failure (garbage, no shared cipher, TLS ≤ 1.1),
    ///   `.timedOut`, `.closed`. The TCP connection is closed on failure; failures are counted in
    ///   `kate_tls_handshake_failures_total`.
    public static func accept(_ tcp: TCPStream, context: TLSServerContext, deadline: ContinuousClock.Instant) async throws -> TLSStream {
        do {
            let connection = try SSLConnection(context: context.currentContext, tcp: tcp, server: true)
            try await handshake(connection, tcp: tcp, deadline: deadline, operation: "TLS handshake from \(tcp.remoteAddress)")
            return try TLSStream(connection: connection, tcp: tcp)
        } catch {
            tcp.closeNow()
            let reason: TLSServerContext.Metrics.HandshakeFailure = switch (error as? NetError)?.kind {
            case .timedOut?: .timeout
            case .closed?, .connectionReset?: .closed
            default: .protocolError
            }
            context.countHandshakeFailure(reason)
            context.logger.debug("TLS handshake failed", metadata: ["peer": "\(tcp.remoteAddress)", "error": "\(error)"])
            throw error
        }
    }

    /// Runs the client side of the handshake. `serverName` (or the configuration's `serverNameOverride`)
    /// is sent as SNI unless it is an IP literal, and the certificate must match it: DNS SAN for names,
    /// IP SAN for IP literals. Verification is skipped only with `insecureSkipVerify`.
    ///
    /// - Throws: `NetError(.tls("certificate verify failed: hostname mismatch"))` and the like; the TCP
    ///   connection is closed on failure.
    public static func connect(
        _ tcp: TCPStream, context: TLSClientContext, serverName: String, deadline: ContinuousClock.Instant
    ) async throws -> TLSStream {
        do {
            let connection = try SSLConnection(context: context.context, tcp: tcp, server: false)
            let name = context.configuration.serverNameOverride ?? serverName
            try configureClient(connection, name: name, verify: !context.configuration.insecureSkipVerify)
            try await handshake(connection, tcp: tcp, deadline: deadline, operation: "TLS handshake with \(name) (\(tcp.remoteAddress))")
            return try TLSStream(connection: connection, tcp: tcp)
        } catch {
            tcp.closeNow()
            throw error
        }
    }

    private static func configureClient(_ connection: SSLConnection, name: String, verify: Bool) throws {
        var host = name
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let isIP = host.isNumericAddress
        try connection.withSSL { ssl in
            // SNI must not carry IP literals (RFC 6066 §3).
            if !isIP, !host.isEmpty, ckate_SSL_set_tlsext_host_name(ssl, host) != 1 {
                throw NetError(.tls("invalid server name"), OpenSSLErrors.describe("cannot send SNI \"\(host)\""))
            }
            guard verify else { return }
            let ok = isIP ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) : SSL_set1_host(ssl, host)
            if ok != 1 {
                throw NetError(.tls("invalid server name"), OpenSSLErrors.describe("cannot verify against \"\(host)\""))
            }
            if !isIP { SSL_set_hostflags(ssl, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS)) }
        }
    }

    private static func handshake(
        _ connection: SSLConnection, tcp: TCPStream, deadline: ContinuousClock.Instant, operation: String
    ) async throws {
        while true {
            switch try connection.handshake(operation: operation) {
            case .done: return
            case .wantRead: try await tcp.handle.wait(for: .read, deadline: deadline, operation: operation)
            case .wantWrite: try await tcp.handle.wait(for: .write, deadline: deadline, operation: operation)
            case .closed:
                // Nothing received at all is typically a TCP health probe or port scan: counted apart from
                // protocol failures. Closing halfway through (a truncated ClientHello) is a protocol failure.
                if connection.bytesReceived == 0 {
                    throw NetError(.connectionReset, "\(operation) failed: the peer closed the connection without sending anything")
                }
                throw NetError(.tls("connection closed mid-handshake"), "\(operation) failed: the peer closed the connection mid-handshake")
            case .failed(let error): throw error
            }
        }
    }

    public func read(maxBytes: Int, deadline: ContinuousClock.Instant) async throws -> [UInt8] {
        let limit = min(max(1, maxBytes), 1 << 16)
        while true {
            switch try connection.read(maxBytes: limit, operation: "TLS read from \(remoteAddress)") {
            case .done(let bytes): return bytes
            case .closed: return []
            case .wantRead: try await tcp.handle.wait(for: .read, deadline: deadline, operation: "TLS read from \(remoteAddress)")
            case .wantWrite: try await tcp.handle.wait(for: .write, deadline: deadline, operation: "TLS read from \(remoteAddress)")
            case .failed(let error): throw error
            }
        }
    }

    public func write(_ bytes: [UInt8], deadline: ContinuousClock.Instant) async throws {
        var offset = 0
        while offset < bytes.count {
            let step = try bytes.withUnsafeBytes { all in
                try connection.write(UnsafeRawBufferPointer(rebasing: all[offset...]), operation: "TLS write to \(remoteAddress)")
            }
            switch step {
            case .done(let written): offset += written
            case .wantRead: try await tcp.handle.wait(for: .read, deadline: deadline, operation: "TLS write to \(remoteAddress)")
            case .wantWrite: try await tcp.handle.wait(for: .write, deadline: deadline, operation: "TLS write to \(remoteAddress)")
            case .closed: throw NetError(.connectionReset, "TLS write to \(remoteAddress) failed: the peer closed the connection")
            case .failed(let error): throw error
            }
        }
    }

    /// Sends close_notify (best effort, without waiting for the peer's), then closes the socket.
    public func close() async {
        connection.shutdown()
        await tcp.close()
    }
}
