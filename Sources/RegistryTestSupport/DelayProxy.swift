import KateNet
import Logging
import Synchronization

/// A TCP proxy on 127.0.0.1:<ephemeral> that adds `delay` to every round trip: each chunk from
/// the client is forwarded `delay` after it arrived (answers flow back at once), so a
/// request/response exchange takes `delay` longer and a TLS handshake pays it per flight — like a
/// registry 50 ms away. Connecting itself is not delayed.
public final class DelayProxy: Sendable {
    public let port: Int
    /// `127.0.0.1:PORT`.
    public var host: String { "127.0.0.1:\(port)" }
    private let listener: TCPListener
    private let acceptor: Task<Void, Never>
    private let connectionCount: RequestCounter

    /// Connections accepted so far.
    public var connections: Int { connectionCount.value }

    public static func start(upstreamHost: String = "127.0.0.1", upstreamPort: Int, delay: Duration) throws -> DelayProxy {
        try DelayProxy(upstreamHost: upstreamHost, upstreamPort: upstreamPort, delay: delay)
    }

    private init(upstreamHost: String, upstreamPort: Int, delay: Duration) throws {
        let listener = try TCPListener(host: "127.0.0.1", port: 0)
        let counter = RequestCounter()
        self.listener = listener
        self.port = listener.localPort
        self.connectionCount = counter
        self.acceptor = Task {
            await withDiscardingTaskGroup { group in
                while true {
                    guard let client = try? await listener.accept() else { break }
                    counter.increment()
                    group.addTask { await Self.relay(client, upstreamHost: upstreamHost, upstreamPort: upstreamPort, delay: delay) }
                }
                group.cancelAll()
            }
        }
    }

    public func stop() async {
        listener.close()
        acceptor.cancel()
        await acceptor.value
    }

    private static func relay(_ client: TCPStream, upstreamHost: String, upstreamPort: Int, delay: Duration) async {
        guard let upstream = try? await TCPStream.connect(host: upstreamHost, port: upstreamPort, deadline: .now + .seconds(5)) else {
            await client.close()
            return
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await pump(from: client, to: upstream, delay: delay) }
            group.addTask { await pump(from: upstream, to: client, delay: .zero) }
            // When either side finishes, close both so the other pump's read returns.
            await group.next()
            await client.close()
            await upstream.close()
            group.cancelAll()
        }
    }

    /// Copies bytes, holding each chunk until `delay` after it arrived (order preserved). Reading
    /// and forwarding are separate tasks, so chunks in flight are delayed together, as on a real
    /// link: a TLS Finished followed at once by a request costs one delay, not two.
    private static func pump(from source: TCPStream, to sink: TCPStream, delay: Duration) async {
        let far = ContinuousClock.now + .seconds(3600)
        guard delay > .zero else {
            while !Task.isCancelled {
                guard let chunk = try? await source.read(maxBytes: 64 * 1024, deadline: far), !chunk.isEmpty else { return }
                do { try await sink.write(chunk, deadline: .now + .seconds(30)) } catch { return }
            }
            return
        }
        let (chunks, continuation) = AsyncStream.makeStream(of: (bytes: [UInt8], due: ContinuousClock.Instant).self)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { continuation.finish() }
                while !Task.isCancelled {
                    guard let chunk = try? await source.read(maxBytes: 64 * 1024, deadline: far), !chunk.isEmpty else { return }
                    continuation.yield((chunk, .now + delay))
                }
            }
            group.addTask {
                for await chunk in chunks {
                    try? await Task.sleep(until: chunk.due, clock: .continuous)
                    do { try await sink.write(chunk.bytes, deadline: .now + .seconds(30)) } catch { return }
                }
            }
            // The writer drains what the reader queued before the source ended.
            await group.waitForAll()
        }
    }
}
