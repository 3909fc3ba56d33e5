import Synchronization
@testable import KateNet

/// A raw TCP server on 127.0.0.1:<ephemeral> whose every connection runs `script(connectionIndex,
/// stream)`. For client tests that need a server to misbehave exactly (close after reading a
/// request, send chunked bodies, never answer). Runs inside `with`; stopped when `body` returns.
enum NetHTTPScriptedServer {
    static func with<T: Sendable>(
        script: @escaping @Sendable (Int, TCPStream) async throws -> Void,
        body: (NetHTTPScriptedServerHandle) async throws -> T
    ) async throws -> T {
        let listener = try TCPListener(host: "127.0.0.1", port: 0)
        let handle = NetHTTPScriptedServerHandle(port: listener.localPort)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                await withDiscardingTaskGroup { connections in
                    while let stream = try? await listener.accept() {
                        let index = handle.countConnection()
                        connections.addTask {
                            try? await script(index, stream)
                            await stream.close()
                        }
                    }
                    connections.cancelAll()
                }
            }
            defer { listener.close() }
            let result = try await body(handle)
            listener.close()
            group.cancelAll()
            return result
        }
    }

    /// Reads one request head (and a Content-Length body) from `stream`; nil at EOF.
    static func readRequest(_ stream: any ByteStream) async throws -> HTTPRequest? {
        var parser = HTTPRequestParser()
        while true {
            while let event = try parser.next() {
                if case .request(let request, _) = event { return request }
            }
            let bytes = try await stream.read(maxBytes: 16 * 1024, deadline: .now + .seconds(30))
            if bytes.isEmpty { return nil }
            parser.append(bytes)
        }
    }

    static func write(_ text: String, to stream: any ByteStream) async throws {
        try await stream.write(Array(text.utf8), deadline: .now + .seconds(30))
    }
}

final class NetHTTPScriptedServerHandle: Sendable {
    let port: Int
    private let accepted = Mutex(0)
    init(port: Int) { self.port = port }
    var connectionCount: Int { accepted.withLock { $0 } }
    func countConnection() -> Int {
        accepted.withLock { count in
            defer { count += 1 }
            return count
        }
    }
}

/// A minimal forward proxy: CONNECT host:port opens a tunnel (bytes piped both ways);
/// any other request is answered by the proxy itself with `proxied <request-target>`, which is
/// enough to see that the client sent absolute-form. Records every request line it got.
final class NetHTTPTestProxy: Sendable {
    let port: Int
    private let listener: TCPListener
    private let lines = Mutex<[String]>([])

    var requestLines: [String] { lines.withLock { $0 } }

    private init(listener: TCPListener) {
        self.listener = listener
        self.port = listener.localPort
    }

    static func with<T: Sendable>(_ body: (NetHTTPTestProxy) async throws -> T) async throws -> T {
        let proxy = NetHTTPTestProxy(listener: try TCPListener(host: "127.0.0.1", port: 0))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await proxy.acceptLoop() }
            defer { proxy.listener.close() }
            let result = try await body(proxy)
            proxy.listener.close()
            group.cancelAll()
            return result
        }
    }

    private func acceptLoop() async {
        await withDiscardingTaskGroup { group in
            while let client = try? await listener.accept() {
                group.addTask {
                    try? await self.handle(client)
                    await client.close()
                }
            }
            group.cancelAll()
        }
    }

    private func handle(_ client: TCPStream) async throws {
        guard let request = try await NetHTTPScriptedServer.readRequest(client) else { return }
        lines.withLock { $0.append("\(request.method) \(request.target)") }
        guard request.method == "CONNECT" else {
            try await NetHTTPScriptedServer.write("HTTP/1.1 200 OK\r\nContent-Length: \(8 + request.target.utf8.count)\r\n\r\nproxied \(request.target)", to: client)
            return
        }
        guard let colon = request.target.lastIndex(of: ":"), let port = Int(request.target[request.target.index(after: colon)...]) else {
            try await NetHTTPScriptedServer.write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", to: client)
            return
        }
        let host = String(request.target[..<colon]).trimmingBrackets
        guard let upstream = try? await TCPStream.connect(host: host, port: port, deadline: .now + .seconds(30)) else {
            try await NetHTTPScriptedServer.write("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n", to: client)
            return
        }
        try await NetHTTPScriptedServer.write("HTTP/1.1 200 Connection established\r\n\r\n", to: client)
        await withTaskGroup(of: Void.self) { pipes in
            pipes.addTask { await Self.pipe(from: client, to: upstream) }
            pipes.addTask { await Self.pipe(from: upstream, to: client) }
            await pipes.next()
            await client.close()
            await upstream.close()
        }
    }

    private static func pipe(from source: TCPStream, to sink: TCPStream) async {
        while let bytes = try? await source.read(maxBytes: 64 * 1024, deadline: .now + .seconds(30)), !bytes.isEmpty {
            guard (try? await sink.write(bytes, deadline: .now + .seconds(30))) != nil else { return }
        }
    }
}

extension String {
    fileprivate var trimmingBrackets: String {
        hasPrefix("[") && hasSuffix("]") ? String(dropFirst().dropLast()) : self
    }
}
