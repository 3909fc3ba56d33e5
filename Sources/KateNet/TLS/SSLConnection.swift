#if canImport(Glibc)
import Glibc
#endif
import Synchronization
internal import COpenSSL
internal import CKateShims

/// Owns one SSL* bound to a non-blocking socket (SSL_set_fd). Every call runs under `lock`, because an SSL
/// object must not be used from two threads at once, and one task may read while another writes. Calls never
/// block: they return `.wantRead`/`.wantWrite` and the caller parks on the reactor. Hence `@unchecked Sendable`.
///
/// Why SSL_set_fd rather than memory BIOs: the reactor already tells us when the fd is ready, and letting
/// OpenSSL read and write the socket itself saves a copy each way; SIGPIPE (OpenSSL writes with write(2))
/// is ignored process-wide.
final class SSLConnection: @unchecked Sendable {
    enum Step<Value: Sendable>: Sendable {
        case done(Value)
        case wantRead
        case wantWrite
        /// TLS closed cleanly (close_notify) or the peer hung up.
        case closed
        case failed(NetError)
    }

    private let ssl: OpaquePointer
    private let tcp: TCPStream
    private let lock = Mutex(())
    /// Holds the context object (and so its SSL_CTX) alive at least as long as this connection.
    private let context: SSLContext

    init(context: SSLContext, tcp: TCPStream, server: Bool) throws {
        OpenSSLErrors.clear()
        guard let ssl = SSL_new(context.pointer) else {
            throw NetError(.tls("SSL_new failed"), OpenSSLErrors.describe("cannot start TLS with \(tcp.remoteAddress)"))
        }
        if server { SSL_set_accept_state(ssl) } else { SSL_set_connect_state(ssl) }
        self.ssl = ssl
        self.tcp = tcp
        self.context = context
        let attached = try tcp.handle.withDescriptor { SSL_set_fd(ssl, $0) }
        guard attached == 1 else {
            throw NetError(.tls("SSL_set_fd failed"), OpenSSLErrors.describe("cannot start TLS with \(tcp.remoteAddress)"))
        }
    }

    deinit { SSL_free(ssl) }

    /// Runs `body` with the SSL* under the lock, with the fd pinned open and a clean error queue.
    func withSSL<T: Sendable>(_ body: (OpaquePointer) throws -> T) throws -> T {
        try lock.withLock { _ in
            try tcp.handle.withDescriptor { _ in
                OpenSSLErrors.clear()
                return try body(ssl)
            }
        }
    }

    /// Classifies a non-positive SSL_* return value. Must run inside `withSSL`, right after the call.
    func classify<T: Sendable>(_ result: Int32, _ ssl: OpaquePointer, operation: () -> String) -> Step<T> {
        let code = SSL_get_error(ssl, result)
        switch code {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_ZERO_RETURN: return .closed
        case SSL_ERROR_SYSCALL:
            let systemError = errno
            let queue = OpenSSLErrors.drain()
            if queue.isEmpty && (systemError == 0 || result == 0) { return .closed }
            if queue.isEmpty { return .failed(NetError(errno: systemError, operation: operation())) }
            return .failed(NetError(.tls(queue.last ?? "system error"), "\(operation()) failed: \(queue.joined(separator: "; "))"))
        default:
            var reason = OpenSSLErrors.peekReason() ?? "TLS error \(code)"
            let verify = SSL_get_verify_result(ssl)
            if verify != X509_V_OK, let text = X509_verify_cert_error_string(Int(verify)) {
                reason = "certificate verify failed: \(String(cString: text))"
            }
            let queue = OpenSSLErrors.drain()
            let detail = queue.isEmpty ? "" : " (\(queue.joined(separator: "; ")))"
            return .failed(NetError(.tls(reason), "\(operation()) failed: \(reason)\(detail)"))
        }
    }

    func handshake(operation: @autoclosure () -> String) throws -> Step<Void> {
        try withSSL { ssl in
            let result = SSL_do_handshake(ssl)
            return result == 1 ? .done(()) : classify(result, ssl, operation: operation)
        }
    }

    func read(maxBytes: Int, operation: @autoclosure () -> String) throws -> Step<[UInt8]> {
        try withSSL { ssl in
            // Scratch space + exact copy, as in Posix.receive. SSL_read returns at most one record (16 KiB).
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: maxBytes) { buffer in
                let result = SSL_read(ssl, buffer.baseAddress, Int32(clamping: maxBytes))
                return result > 0 ? .done(Array(buffer[0..<Int(result)])) : classify(result, ssl, operation: operation)
            }
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer, operation: @autoclosure () -> String) throws -> Step<Int> {
        try withSSL { ssl in
            let result = SSL_write(ssl, bytes.baseAddress, Int32(clamping: bytes.count))
            return result > 0 ? .done(Int(result)) : classify(result, ssl, operation: operation)
        }
    }

    /// Bytes OpenSSL has read from the socket so far.
    var bytesReceived: UInt64 {
        (try? withSSL { ssl in SSL_get_rbio(ssl).map { BIO_number_read($0) } ?? 0 }) ?? 0
    }

    /// Sends close_notify once, without waiting for the peer's (best effort, never blocks).
    func shutdown() {
        _ = try? withSSL { ssl in
            if SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN == 0, SSL_is_init_finished(ssl) == 1 {
                _ = SSL_shutdown(ssl)
            }
            OpenSSLErrors.clear()
        }
    }
}
