internal import COpenSSL

/// A TLS context could not be built: unreadable or malformed PEM, a key that does not match its
/// certificate, a rejected setting. The message names the file and OpenSSL's reason.
public struct TLSConfigurationError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
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

    /// The short reason of the newest queued error ("certificate verify failed"), without draining.
    static func peekReason() -> String? {
        let code = ERR_peek_last_error()
        guard code != 0, let reason = ERR_reason_error_string(code) else { return nil }
        return String(cString: reason)
    }

    /// "what: entry; entry" or just "what" when the queue is empty.
    static func describe(_ what: String) -> String {
        let queue = drain()
        return queue.isEmpty ? what : "\(what): \(queue.joined(separator: "; "))"
    }

    static func string(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
