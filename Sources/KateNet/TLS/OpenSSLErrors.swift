internal import COpenSSL

/// A TLS context or certificate could not be built: unreadable or malformed PEM, a key that does not match its
/// certificate, a rejected setting. `kind` is for code to branch on; the description names the file and ends
/// with OpenSSL's own reasons, which `openSSLErrors` keeps as entries.
public struct TLSConfigurationError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// A PEM file could not be opened or read (missing, permissions).
        case unreadableFile
        /// The bytes hold no certificate or key of the expected kind.
        case notPEM
        /// The private key does not belong to the certificate.
        case keyMismatch
        /// OpenSSL refused a setting, a certificate or a CA (the entries say why).
        case rejected
        /// A caller passed something unusable: a DNS name or IP for a SAN, an ALPN name, half a client identity.
        case invalidArgument
        /// OpenSSL could not allocate or encode something it should always manage.
        case internalFailure
    }

    public let kind: Kind
    /// What failed, naming the file or setting ("private key /x/tls.key does not match certificate /x/tls.crt").
    public let message: String
    /// OpenSSL's error queue at the failure, oldest first ("error:0A00018F:SSL routines::ee key too small").
    public let openSSLErrors: [String]
    /// The system error behind an unreadable file.
    public let cause: NetError?

    public init(_ kind: Kind, _ message: String, openSSLErrors: [String] = [], cause: NetError? = nil) {
        self.kind = kind
        self.message = message
        self.openSSLErrors = openSSLErrors
        self.cause = cause
    }

    /// Drains OpenSSL's queue into the error: call right after the failing OpenSSL call, on the same thread.
    static func openSSL(_ kind: Kind, _ message: String) -> TLSConfigurationError {
        TLSConfigurationError(kind, message, openSSLErrors: OpenSSLErrors.drain())
    }

    public var description: String {
        openSSLErrors.isEmpty ? message : "\(message): \(openSSLErrors.joined(separator: "; "))"
    }
}

/// OpenSSL's per-thread error queue. Every OpenSSL call site clears it before the call and drains it
/// right after, on the same thread and without suspending in between, so errors are never misattributed.
enum OpenSSLErrors {
    static func clear() { ERR_clear_error() }

    /// Empties the queue, oldest first, as OpenSSL's one-line strings
    /// ("error:0A000086:SSL routines::certificate verify failed").
    static func drain() -> [String] {
        var entries: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { return entries }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            entries.append(string(buffer))
        }
    }

    /// "what: entry; entry" or just "what" when the queue is empty (for `NetError` messages).
    static func describe(_ what: String) -> String {
        let queue = drain()
        return queue.isEmpty ? what : "\(what): \(queue.joined(separator: "; "))"
    }

    /// The short reason of the newest queued error ("certificate verify failed"), without draining.
    static func peekReason() -> String? {
        let code = ERR_peek_last_error()
        guard code != 0, let reason = ERR_reason_error_string(code) else { return nil }
        return String(cString: reason)
    }


    static func string(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
