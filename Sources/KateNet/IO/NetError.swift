#if canImport(Glibc)
import Glibc
#endif

/// A network failure from kate's socket and TLS layer: what went wrong (`kind`, for code to branch on)
/// and a message a person can act on ("connect to 127.0.0.1:8443 failed: connection refused").
///
/// A struct with a nested kind (not a bare enum) so new context can be added without breaking callers.
public struct NetError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A deadline passed before the operation completed.
        case timedOut
        /// The peer reset the connection (ECONNRESET, EPIPE).
        case connectionReset
        /// Nothing listens on the address (ECONNREFUSED).
        case refused
        /// No route to the network or host.
        case unreachable
        /// The host name did not resolve.
        case dns
        /// The TLS handshake or a TLS record failed; the payload is the short reason.
        case tls(String)
        /// The stream or listener was closed by this process.
        case closed
        /// bind(2) found the address taken.
        case addressInUse
        /// Out of file descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM).
        case resourceExhausted
        /// A caller passed something unusable (bad address literal, port out of range).
        case invalidArgument
        /// Any other system error; see `errno`.
        case other
    }

    public let kind: Kind
    public let message: String
    /// The errno behind the failure, when a system call produced it.
    public let errno: Int32?

    public init(_ kind: Kind, _ message: String, errno: Int32? = nil) {
        self.kind = kind
        self.message = message
        self.errno = errno
    }

    public var description: String { message }

    /// Maps a failed system call's errno to a typed error whose message names the operation:
    /// `NetError(errno: ECONNREFUSED, operation: "connect to 127.0.0.1:1")` → "connect to 127.0.0.1:1 failed: Connection refused".
    public init(errno code: Int32, operation: String) {
        let kind: Kind
        switch code {
        case ECONNREFUSED: kind = .refused
        case ECONNRESET, EPIPE, ECONNABORTED: kind = .connectionReset
        case ETIMEDOUT: kind = .timedOut
        case ENETUNREACH, EHOSTUNREACH, ENETDOWN: kind = .unreachable
        case EADDRINUSE: kind = .addressInUse
        case EMFILE, ENFILE, ENOBUFS, ENOMEM: kind = .resourceExhausted
        case EINVAL, EAFNOSUPPORT, EADDRNOTAVAIL: kind = .invalidArgument
        default: kind = .other
        }
        self.init(kind, "\(operation) failed: \(NetError.describe(errno: code)) (errno \(code))", errno: code)
    }

    static func describe(errno code: Int32) -> String {
        guard let text = strerror(code) else { return "unknown error" }
        return String(cString: text)
    }

    static func timedOut(_ operation: String) -> NetError {
        NetError(.timedOut, "\(operation) timed out: the deadline passed")
    }

    static func closed(_ what: String) -> NetError {
        NetError(.closed, "\(what) is closed")
    }
}
