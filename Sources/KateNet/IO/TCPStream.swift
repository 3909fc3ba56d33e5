#if canImport(Glibc)
import Glibc
#endif

/// A connected, non-blocking TCP socket. Reads and writes suspend the calling task (never a thread)
/// until the reactor reports readiness or the deadline passes.
public final class TCPStream: ByteStream {
    let handle: SocketHandle
    public let remoteAddress: String

    /// Wraps a non-blocking fd (accepted, or about to connect); takes ownership, closing it if this throws.
    init(connectedFD fd: Int32, remote: SocketAddress?) throws {
        let remoteAddress = remote?.description ?? "<unknown peer>"
        // Small request/response exchanges (webhook reviews, registry HEADs) must not wait for Nagle.
        try? Posix.setOption(fd, level: Int32(IPPROTO_TCP), name: TCP_NODELAY, value: 1, "TCP_NODELAY")
        self.handle = try SocketHandle(fd: fd, label: "TCP connection with \(remoteAddress)")
        self.remoteAddress = remoteAddress
    }

    public func read(maxBytes: Int, deadline: ContinuousClock.Instant) async throws -> [UInt8] {
        // Capped so a caller's "as much as you have" cannot ask for gigabytes of scratch space.
        let limit = min(max(1, maxBytes), 1 << 16)
        while true {
            let result = try handle.withDescriptor { fd in
                try Posix.receive(fd, maxBytes: limit, "read from \(remoteAddress)")
            }
            switch result {
            case .processed(let bytes): return bytes
            case .wouldBlock: try await handle.wait(for: .read, deadline: deadline, operation: "read from \(remoteAddress)")
            }
        }
    }

    public func write(_ bytes: [UInt8], deadline: ContinuousClock.Instant) async throws {
        var offset = 0
        while offset < bytes.count {
            let result = try bytes.withUnsafeBytes { all in
                try handle.withDescriptor { fd in
                    try Posix.send(fd, UnsafeRawBufferPointer(rebasing: all[offset...]), "write to \(remoteAddress)")
                }
            }
            switch result {
            case .processed(let written): offset += written
            case .wouldBlock: try await handle.wait(for: .write, deadline: deadline, operation: "write to \(remoteAddress)")
            }
        }
    }

    /// Closes the socket; parked reads and writes fail with `.closed`. Idempotent.
    public func close() async {
        handle.close()
    }

    /// Synchronous close, for owners that are not async (TLSStream's failure paths, deinit-like clean-up).
    func closeNow() {
        handle.close()
    }

    /// Sends FIN (the peer reads EOF) while this side can still read.
    public func shutdownWrite() {
        handle.shutdownWrite()
    }

    /// The local port of this connection.
    public var localPort: Int {
        (try? handle.withDescriptor { SocketAddress.local(of: $0)?.port }) .flatMap { $0 } ?? 0
    }
}
