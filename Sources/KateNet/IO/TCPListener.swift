#if canImport(Glibc)
import Glibc
#endif

/// A listening TCP socket. `accept()` suspends the task until a connection arrives.
public final class TCPListener: Sendable {
    let handle: SocketHandle
    public let localPort: Int
    /// "127.0.0.1:8443", "[::]:8443".
    public let localAddress: String

    /// Binds and listens. `host` is a literal ("0.0.0.0", "127.0.0.1", "::" = dual-stack IPv4+IPv6,
    /// "[::1]") or a name resolved once (blocking; this runs at start-up). SO_REUSEADDR is set so a restart
    /// does not fail on connections lingering in TIME_WAIT.
    ///
    /// - Throws: `NetError` (`.addressInUse`, `.invalidArgument`, `.dns`, …) naming the address.
    public init(host: String, port: Int, backlog: Int32 = 1024) throws {
        guard let address = try SocketAddress.resolve(host: host, port: port, passive: true).first else {
            throw NetError(.dns, "cannot listen on \"\(host)\": it resolved to no addresses")
        }
        let fd = try Posix.socket(family: address.family)
        do {
            try Posix.setOption(fd, level: SOL_SOCKET, name: SO_REUSEADDR, value: 1, "SO_REUSEADDR")
            if address.family == AF_INET6 {
                // "::" should accept IPv4 too (as ::ffff:a.b.c.d) whatever the sysctl default is.
                try Posix.setOption(fd, level: Int32(IPPROTO_IPV6), name: IPV6_V6ONLY, value: 0, "IPV6_V6ONLY")
            }
            try Posix.checked("bind to \(address)") { address.withSockaddr { bind(fd, $0, $1) } }
            try Posix.checked("listen on \(address)") { listen(fd, backlog) }
        } catch {
            Posix.close(fd)
            throw error
        }
        let bound = SocketAddress.local(of: fd) ?? address
        self.localPort = bound.port
        self.localAddress = bound.description
        self.handle = try SocketHandle(fd: fd, label: "listener on \(bound)")
    }

    /// Waits for the next connection. TCP_NODELAY is set on it.
    ///
    /// - Throws: `NetError(.closed)` once `close()` was called (also for a task parked here at the time);
    ///   `.resourceExhausted` when out of file descriptors (the caller should back off, then retry).
    public func accept() async throws -> TCPStream {
        while true {
            let result = try handle.withDescriptor { try Posix.accept($0) }
            switch result {
            case .processed(let fd):
                return try TCPStream(connectedFD: fd, remote: SocketAddress.peer(of: fd))
            case .wouldBlock:
                try await handle.wait(for: .read, deadline: nil, operation: "accept on \(localAddress)")
            }
        }
    }

    /// Stops listening; a parked `accept()` throws `.closed`. Idempotent.
    public func close() {
        handle.close()
    }
}
