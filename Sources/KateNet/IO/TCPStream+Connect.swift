#if canImport(Glibc)
import Glibc
#endif
import Synchronization

extension TCPStream {
    /// Connects to `host:port`, trying each address getaddrinfo returns (IPv4 and IPv6) in order until one
    /// answers or the deadline passes. Name lookups run on a dedicated thread, never the cooperative pool.
    ///
    /// - Throws: `NetError` — `.dns` if the name does not resolve, `.refused`/`.unreachable` from the last
    ///   address tried, `.timedOut` if the deadline passes.
    public static func connect(host: String, port: Int, deadline: ContinuousClock.Instant) async throws -> TCPStream {
        let addresses = try await lookUp(host: host, port: port, deadline: deadline)
        var lastError: (any Error)?
        for address in addresses {
            do {
                return try await connect(to: address, deadline: deadline)
            } catch let error as NetError where error.kind != .timedOut {
                lastError = error
            }
        }
        throw lastError ?? NetError(.dns, "host \"\(host)\" resolved to no addresses")
    }

    static func connect(to address: SocketAddress, deadline: ContinuousClock.Instant) async throws -> TCPStream {
        // Registered with the reactor before connect(2): completion is reported as writability.
        let stream = try TCPStream(connectedFD: Posix.socket(family: address.family), remote: address)
        let operation = "connect to \(address)"
        do {
            // A wake-up from the reactor means "try again", not "connected" (an unconnected socket already
            // reports writable), so ask connect(2) itself until it says done or fails.
            while case .wouldBlock = try stream.handle.withDescriptor({ try Posix.connect($0, to: address, operation) }) {
                try await stream.handle.wait(for: .write, deadline: deadline, operation: operation)
            }
            return stream
        } catch {
            stream.closeNow()
            throw error
        }
    }

    /// getaddrinfo on a detached thread, raced against the deadline and task cancellation.
    /// Literal addresses skip the thread: getaddrinfo with AI_NUMERICHOST never blocks.
    static func lookUp(host: String, port: Int, deadline: ContinuousClock.Instant) async throws -> [SocketAddress] {
        if host.isNumericAddress { return try SocketAddress.resolve(host: host, port: port) }
        let slot = ContinuationSlot<[SocketAddress]>()
        @Sendable func finish(_ result: Result<[SocketAddress], any Error>) { slot.resume(with: result) }
        let addresses = try await withDeadline(deadline) {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    slot.store(continuation)
                    if Task.isCancelled { finish(.failure(CancellationError())); return }
                    do {
                        try DetachedThread.start {
                            finish(Result { try SocketAddress.resolve(host: host, port: port) })
                        }
                    } catch {
                        finish(.failure(error))
                    }
                }
            } onCancel: {
                finish(.failure(CancellationError()))
            }
        }
        guard let addresses else { throw NetError.timedOut("DNS lookup of \"\(host)\"") }
        return addresses
    }
}

/// Holds one continuation that exactly one of several racers (a worker thread, cancellation) resumes.
final class ContinuationSlot<Value: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<Value, any Error>?>(nil)

    func store(_ continuation: CheckedContinuation<Value, any Error>) {
        self.continuation.withLock { $0 = continuation }
    }

    /// Resumes the stored continuation; later calls (the losers of the race) do nothing.
    func resume(with result: Result<Value, any Error>) {
        continuation.withLock { $0.take() }?.resume(with: result)
    }
}
