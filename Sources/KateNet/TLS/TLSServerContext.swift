import Logging
import Metrics
import Synchronization
internal import COpenSSL
internal import CKateShims

/// The server side of kate's TLS: the serving certificate and the protocol policy, hot-reloadable.
///
/// Policy: TLS 1.2 minimum, 1.3 preferred; TLS 1.2 only with ECDHE key exchange and AEAD ciphers, server
/// order; no renegotiation, no compression; ALPN picks `http/1.1` (a client offering `h2,http/1.1` gets
/// `http/1.1`; a client offering only protocols kate does not speak, or none, is served without ALPN).
///
/// Hot reload: `reloadIfChanged()` builds a complete new SSL_CTX off to the side and swaps it in under a
/// mutex, so a broken or half-written file never replaces a working certificate. New handshakes use the new
/// context; open connections keep the one they started with (OpenSSL reference-counts it).
///
/// > Note: building a context reads files (blocking disk I/O). Both happen at start-up and on reload polls.
public final class TLSServerContext: Sendable {
    /// The TLS 1.2 cipher list: forward secrecy (ECDHE) and AEAD only. TLS 1.3 suites are all AEAD.
    static let tls12Ciphers = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    struct Current: Sendable {
        var context: SSLContext
        /// Identity of the files the current context was built from (nil for in-memory PEM).
        var files: CertificateFiles.Identity?
        /// Identity of the last files we tried, successfully or not: a broken file is reported once, not every poll.
        var lastAttempt: CertificateFiles.Identity?
        var subject: String
        var reloads = 0
    }

    let certificateChain: PEMSource
    let privateKey: PEMSource
    let clientTrustRoots: [PEMSource]
    let logger: Logger
    let state: Mutex<Current>
    let watcher = Mutex<Task<Void, Never>?>(nil)
    let metrics: Metrics

    /// Counters created once, at init, so the factory in effect then (the app's, or a test's) is used.
    struct Metrics: Sendable {
        let reloadSuccess: Counter
        let reloadFailure: Counter
        let handshakeFailure: [HandshakeFailure: Counter]

        enum HandshakeFailure: String, Sendable, CaseIterable { case timeout, closed, protocolError = "protocol" }

        init() {
            reloadSuccess = Counter(label: "kate_tls_certificate_reloads_total", dimensions: [("result", "success")])
            reloadFailure = Counter(label: "kate_tls_certificate_reloads_total", dimensions: [("result", "failure")])
            var byReason: [HandshakeFailure: Counter] = [:]
            for reason in HandshakeFailure.allCases {
                byReason[reason] = Counter(label: "kate_tls_handshake_failures_total", dimensions: [("reason", reason.rawValue)])
            }
            handshakeFailure = byReason
        }
    }

    /// Loads the serving certificate chain (leaf first, then intermediates) and its RSA or ECDSA key.
    ///
    /// - Parameters:
    ///   - clientTrustRoots: when non-empty, clients must present a certificate issued by one of these CAs (mutual TLS).
    /// - Throws: `TLSConfigurationError` naming the file — unreadable, not PEM, or
    ///   "private key /x/tls.key does not match certificate /x/tls.crt".
    public init(
        certificateChain: PEMSource, privateKey: PEMSource, clientTrustRoots: [PEMSource] = [], logger: Logger
    ) throws {
        self.certificateChain = certificateChain
        self.privateKey = privateKey
        self.clientTrustRoots = clientTrustRoots
        self.logger = logger
        self.metrics = Metrics()
        let files = CertificateFiles(chain: certificateChain, key: privateKey)
        let identity = files?.identity()
        let (context, subject) = try Self.build(certificateChain, privateKey, clientTrustRoots)
        self.state = Mutex(Current(context: context, files: identity, lastAttempt: identity, subject: subject))
        logger.info("TLS certificate loaded", metadata: ["tls.subject": "\(subject)", "tls.certificate": "\(Self.label(certificateChain))"])
    }

    deinit {
        watcher.withLock { $0?.cancel() }
    }

    /// How many times a changed certificate was loaded successfully.
    public var reloadCount: Int { state.withLock { $0.reloads } }

    /// The subject of the certificate new handshakes get ("CN=kate.default.svc").
    public var certificateSubject: String { state.withLock { $0.subject } }

    /// The context for the next handshake.
    var currentContext: SSLContext { state.withLock { $0.context } }

    func countHandshakeFailure(_ reason: Metrics.HandshakeFailure) {
        metrics.handshakeFailure[reason]?.increment()
    }

    static func label(_ source: PEMSource) -> String {
        switch source {
        case .file(let path): path
        case .pem: "in-memory PEM"
        }
    }

    /// Builds a complete, checked server SSL_CTX; returns it with the leaf's subject.
    static func build(_ chain: PEMSource, _ key: PEMSource, _ clientRoots: [PEMSource]) throws -> (SSLContext, String) {
        let chainPEM = try PEMMaterial.load(chain, what: "certificate")
        var settings = SSLContextConfiguration(role: .server)
        settings.identity = .init(chain: chainPEM, key: try PEMMaterial.load(key, what: "private key"))
        settings.tls12Ciphers = tls12Ciphers
        settings.preferServerCipherOrder = true
        settings.selectHTTP11ALPN = true
        settings.sessionIDContext = Array("kate".utf8)
        if !clientRoots.isEmpty {
            settings.trustRoots = try clientRoots.map { try PEMMaterial.load($0, what: "client CA") }
            settings.peerVerification = .requirePeerCertificate
        }
        let context = try SSLContext(settings)
        let subject = try chainPEM.certificates()[0].subject
        return (context, subject)
    }
}
