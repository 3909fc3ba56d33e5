import KateNet
import Synchronization

/// A TCP relay in front of the TLS listener that can cut a connection after the server has
/// received a request but before its answer reaches the client: the ambiguous failure a client
/// must not blindly retry for writes. `APIHandler` arms it while serving the request; the next
/// bytes the server sends back are dropped together with both sockets.
///
/// Arming is per server, not per connection: drop tests issue one request at a time.
final class ConnectionDropper: Sendable {
    let port: Int
    private let listener: TCPListener
    private let upstreamPort: UpstreamPort
    private let armed = Mutex(0)
    private let open = Mutex<[Int: (TCPStream, TCPStream)]>([:])
    private let acceptTask = Mutex<Task<Void, Never>?>(nil)

    init(upstreamPort: UpstreamPort) throws {
        listener = try TCPListener(host: "127.0.0.1", port: 0)
        port = listener.localPort
        self.upstreamPort = upstreamPort
        let task = Task { [self] in await acceptLoop() }
        acceptTask.withLock { $0 = task }
    }

    /// The next answer the server writes is not delivered; its connection is closed instead.
    func armDrop() { armed.withLock { $0 += 1 } }

    func stop() async {
        listener.close()
        let streams = open.withLock { current in
            defer { current.removeAll() }
            return Array(current.values)
        }
        for (client, upstream) in streams {
            await client.close()
            await upstream.close()
        }
        await acceptTask.withLock { $0 }?.value
    }

    private func acceptLoop() async {
        await withDiscardingTaskGroup { group in
            var nextID = 0
            while true {
                guard let client = try? await listener.accept() else { return }
                nextID += 1
                let id = nextID
                group.addTask { await self.relay(client, id: id) }
            }
        }
    }

    private func relay(_ client: TCPStream, id: Int) async {
        guard let upstream = try? await TCPStream.connect(host: "127.0.0.1", port: upstreamPort.value, deadline: .now + .seconds(5)) else {
            await client.close()
            return
        }
        open.withLock { $0[id] = (client, upstream) }
        await withDiscardingTaskGroup { group in
            group.addTask { await self.pump(from: client, to: upstream, dropping: false) }
            group.addTask { await self.pump(from: upstream, to: client, dropping: true) }
        }
        open.withLock { $0[id] = nil }
    }

    /// Copies until EOF or an error, then closes both ends (which ends the opposite pump too).
    private func pump(from source: TCPStream, to sink: TCPStream, dropping: Bool) async {
        while let bytes = try? await source.read(maxBytes: 64 * 1024, deadline: .now + .seconds(3600)), !bytes.isEmpty {
            if dropping, armed.withLock({ count in
                guard count > 0 else { return false }
                count -= 1
                return true
            }) {
                break
            }
            guard (try? await sink.write(bytes, deadline: .now + .seconds(30))) != nil else { break }
        }
        await source.close()
        await sink.close()
    }
}

/// The TLS listener's port, known only after the server started.
final class UpstreamPort: Sendable {
    private let port = Mutex(0)
    func set(_ value: Int) { port.withLock { $0 = value } }
    var value: Int { port.withLock { $0 } }
}
