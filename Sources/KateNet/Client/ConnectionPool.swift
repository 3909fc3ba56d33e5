import Synchronization

/// Idle keep-alive connections, per origin (`https://host:port`), newest first.
///
/// Bounded per origin; a connection idle longer than `idleTimeout` is dropped when found (the
/// server has most likely closed it already: Go's default is 90 s, nginx's 75 s).
final class ConnectionPool: Sendable {
    struct Idle: Sendable {
        let stream: any ByteStream
        let since: ContinuousClock.Instant
    }

    private let idle = Mutex<[String: [Idle]]>([:])
    private let maxPerOrigin: Int
    private let idleTimeout: Duration

    init(maxPerOrigin: Int, idleTimeout: Duration) {
        self.maxPerOrigin = maxPerOrigin
        self.idleTimeout = idleTimeout
    }

    /// The most recently used idle connection for `origin`; expired ones are returned in
    /// `expired` for the caller to close (closing is async; the lock is not held across it).
    func checkout(_ origin: String) -> (stream: (any ByteStream)?, expired: [any ByteStream]) {
        let now = ContinuousClock.now
        return idle.withLock { idle in
            var expired: [any ByteStream] = []
            while var list = idle[origin], let last = list.popLast() {
                idle[origin] = list.isEmpty ? nil : list
                if now - last.since < idleTimeout { return (last.stream, expired) }
                expired.append(last.stream)
            }
            return (nil, expired)
        }
    }

    /// Returns a connection for reuse; returns the stream back if the pool is full (caller closes).
    func checkin(_ origin: String, _ stream: any ByteStream) -> (any ByteStream)? {
        idle.withLock { idle in
            var list = idle[origin, default: []]
            guard list.count < maxPerOrigin else { return stream }
            list.append(Idle(stream: stream, since: .now))
            idle[origin] = list
            return nil
        }
    }

    func count(_ origin: String) -> Int { idle.withLock { $0[origin]?.count ?? 0 } }

    /// Empties the pool; the caller closes the returned streams.
    func drain() -> [any ByteStream] {
        idle.withLock { idle in
            defer { idle = [:] }
            return idle.values.flatMap { $0.map(\.stream) }
        }
    }
}
