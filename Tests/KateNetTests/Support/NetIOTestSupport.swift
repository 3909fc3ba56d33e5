@testable import KateNet

/// Test helpers for the I/O and TLS suites.
enum NetIOTest {
    /// A deadline `seconds` from now: generous so a loaded CI box never flakes, still bounded.
    static func deadline(_ seconds: Int = 10) -> ContinuousClock.Instant { .now + .seconds(seconds) }

    /// A connected pair over loopback: a listener on `listenHost`, a client connecting to
    /// `connectHost` (a name is resolved like any other), and the accepted server side. The
    /// listener is closed once it has accepted; `port` is where it listened.
    static func connectedPair(
        listenOn listenHost: String = "127.0.0.1", connectTo connectHost: String = "127.0.0.1"
    ) async throws -> (client: TCPStream, server: TCPStream, port: Int) {
        let listener = try TCPListener(host: listenHost, port: 0)
        defer { listener.close() }
        async let accepted = listener.accept()
        let client = try await TCPStream.connect(host: connectHost, port: listener.localPort, deadline: deadline())
        let server = try await accepted
        return (client, server, listener.localPort)
    }

    /// Polls `condition` until it holds or `timeout` passes; returns whether it held. For waiting on
    /// effects that have no event to await (a file's mtime being noticed, a counter moving).
    static func eventually(
        within timeout: Duration = .seconds(10), every interval: Duration = .milliseconds(20),
        _ condition: () async throws -> Bool
    ) async rethrows -> Bool {
        let end = ContinuousClock.now + timeout
        while ContinuousClock.now < end {
            if try await condition() { return true }
            try? await Task.sleep(for: interval)
        }
        return try await condition()
    }

    /// Reads until EOF or until `count` bytes arrived.
    static func readAll(_ stream: any ByteStream, atLeast count: Int = Int.max, deadline: ContinuousClock.Instant = deadline())
        async throws -> [UInt8]
    {
        var all: [UInt8] = []
        while all.count < count {
            let chunk = try await stream.read(maxBytes: 65536, deadline: deadline)
            if chunk.isEmpty { break }
            all += chunk
        }
        return all
    }
}

/// Runs `body` and returns how long it took along with the error it threw (nil if none).
func measureFailure(_ body: () async throws -> Void) async -> (Duration, (any Error)?) {
    let start = ContinuousClock.now
    do {
        try await body()
        return (start.duration(to: .now), nil)
    } catch {
        return (start.duration(to: .now), error)
    }
}
