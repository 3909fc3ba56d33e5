import KateNet
import Synchronization

/// An HTTP CONNECT proxy on 127.0.0.1:<ephemeral> that tunnels every CONNECT, whatever host it
/// names, to one loopback port. Lets a test reach a local server under a registry name that is
/// not loopback (`registry.example.test:5000`) without touching DNS or /etc/hosts.
public final class ConnectProxy: Sendable {
    public let port: Int
    /// `http://127.0.0.1:PORT`, for `ProxyConfiguration.httpsProxy`.
    public var url: String { "http://127.0.0.1:\(port)" }
    private let listener: TCPListener
    private let acceptor: Task<Void, Never>
    private let log: TargetLog

    /// The `host:port` of every CONNECT so far.
    public var connectTargets: [String] { log.all }

    private init(listener: TCPListener, acceptor: Task<Void, Never>, log: TargetLog) {
        self.listener = listener
        self.port = listener.localPort
        self.acceptor = acceptor
        self.log = log
    }

    public static func start(upstreamPort: Int) throws -> ConnectProxy {
        let listener = try TCPListener(host: "127.0.0.1", port: 0)
        let log = TargetLog()
        let acceptor = Task {
            await withDiscardingTaskGroup { group in
                while let client = try? await listener.accept() {
                    group.addTask { await tunnel(client, upstreamPort: upstreamPort, log: log) }
                }
                group.cancelAll()
            }
        }
        return ConnectProxy(listener: listener, acceptor: acceptor, log: log)
    }

    public func stop() async {
        listener.close()
        acceptor.cancel()
        await acceptor.value
    }

    private static func tunnel(_ client: TCPStream, upstreamPort: Int, log: TargetLog) async {
        var head: [UInt8] = []
        let deadline = ContinuousClock.now + .seconds(5)
        while !head.ends(with: Array("\r\n\r\n".utf8)) {
            // One byte at a time: what follows the head is the client's TLS handshake.
            guard let byte = try? await client.read(maxBytes: 1, deadline: deadline), !byte.isEmpty, head.count < 8192 else {
                await client.close()
                return
            }
            head += byte
        }
        let requestLine = String(decoding: head.prefix { $0 != 0x0D }, as: UTF8.self).split(separator: " ")
        guard requestLine.count == 3, requestLine[0] == "CONNECT",
            let upstream = try? await TCPStream.connect(host: "127.0.0.1", port: upstreamPort, deadline: .now + .seconds(5))
        else {
            try? await client.write(Array("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n".utf8), deadline: .now + .seconds(1))
            await client.close()
            return
        }
        log.record(String(requestLine[1]))
        do {
            try await client.write(Array("HTTP/1.1 200 Connection established\r\n\r\n".utf8), deadline: .now + .seconds(5))
        } catch {
            await client.close()
            await upstream.close()
            return
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await pump(from: client, to: upstream) }
            group.addTask { await pump(from: upstream, to: client) }
            await group.next()
            await client.close()
            await upstream.close()
            group.cancelAll()
        }
    }

    private static func pump(from source: TCPStream, to sink: TCPStream) async {
        let far = ContinuousClock.now + .seconds(3600)
        while !Task.isCancelled {
            guard let chunk = try? await source.read(maxBytes: 64 * 1024, deadline: far), !chunk.isEmpty else { return }
            do { try await sink.write(chunk, deadline: .now + .seconds(30)) } catch { return }
        }
    }
}

/// CONNECT targets, shared by the tunnel tasks and the proxy object.
private final class TargetLog: Sendable {
    private let entries = Mutex<[String]>([])
    func record(_ target: String) { entries.withLock { $0.append(target) } }
    var all: [String] { entries.withLock { $0 } }
}

extension Array where Element == UInt8 {
    fileprivate func ends(with suffix: [UInt8]) -> Bool {
        count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix
    }
}
