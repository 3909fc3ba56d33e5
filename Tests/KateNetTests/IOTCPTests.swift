#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import KateNet

@Suite("IO: TCP over the epoll reactor")
struct IOTCPTests {
    @Test("echo round trip, peer close reads as EOF, bracketed IPv6 address", arguments: ["127.0.0.1", "::1", "[::1]"])
    func echoRoundTrip(host: String) async throws {
        let listener = try TCPListener(host: host, port: 0)
        defer { listener.close() }
        #expect(listener.localPort > 0)
        async let served: String = {
            let connection = try await listener.accept()
            let bytes = try await connection.read(maxBytes: 1024, deadline: NetIOTest.deadline())
            try await connection.write(bytes, deadline: NetIOTest.deadline())
            await connection.close()
            return connection.remoteAddress
        }()
        let client = try await TCPStream.connect(host: host, port: listener.localPort, deadline: NetIOTest.deadline())
        try await client.write(Array("hello".utf8), deadline: NetIOTest.deadline())
        let echoed = try await NetIOTest.readAll(client)
        #expect(echoed == Array("hello".utf8))
        let serverSawPeer = try await served
        let clientPort = client.localPort
        await client.close()
        let expected = host.contains("::1") ? "[::1]:\(listener.localPort)" : "127.0.0.1:\(listener.localPort)"
        #expect(client.remoteAddress == expected)
        #expect(serverSawPeer == (host.contains("::1") ? "[::1]:\(clientPort)" : "127.0.0.1:\(clientPort)"))
    }

    @Test("a \"::\" listener is dual-stack: an IPv4 client gets through")
    func dualStack() async throws {
        let (client, server, _) = try await NetIOTest.connectedPair(listenOn: "::")
        #expect(server.remoteAddress.hasPrefix("[::ffff:127.0.0.1]:"))
        await client.close()
        await server.close()
    }

    @Test("connect by name resolves on a worker thread (localhost)")
    func connectByName() async throws {
        let (client, server, port) = try await NetIOTest.connectedPair(connectTo: "localhost")
        #expect(client.remoteAddress.hasSuffix(":\(port)"))
        await client.close()
        await server.close()
    }

    @Test("a read deadline fails promptly with .timedOut")
    func readDeadline() async throws {
        let (client, server, _) = try await NetIOTest.connectedPair()
        let (elapsed, error) = await measureFailure {
            _ = try await client.read(maxBytes: 100, deadline: .now + .milliseconds(200))
        }
        #expect((error as? NetError)?.kind == .timedOut)
        #expect(elapsed >= .milliseconds(190) && elapsed < .seconds(10), "took \(elapsed)")
        await client.close()
        await server.close()
    }

    @Test("a write to a peer that never reads fails with .timedOut at the deadline")
    func writeDeadline() async throws {
        let (client, server, _) = try await NetIOTest.connectedPair()
        let (elapsed, error) = await measureFailure {
            try await client.write([UInt8](repeating: 7, count: 64 << 20), deadline: .now + .milliseconds(300))
        }
        #expect((error as? NetError)?.kind == .timedOut)
        #expect(elapsed < .seconds(10), "took \(elapsed)")
        await client.close()
        await server.close()
    }

    @Test("connecting to a closed port throws .refused naming the address")
    func connectRefused() async throws {
        let listener = try TCPListener(host: "127.0.0.1", port: 0)
        let port = listener.localPort
        listener.close()
        let (_, error) = await measureFailure {
            _ = try await TCPStream.connect(host: "127.0.0.1", port: port, deadline: NetIOTest.deadline())
        }
        let netError = try #require(error as? NetError)
        #expect(netError.kind == .refused)
        #expect(netError.message.contains("127.0.0.1:\(port)"))
    }

    @Test("connect waits for the handshake and times out when the peer never answers (full accept queue drops SYNs)")
    func connectTimeout() async throws {
        let listener = try TCPListener(host: "127.0.0.1", port: 0, backlog: 0)
        defer { listener.close() }
        // Never accepted: fill the accept queue; the kernel then drops further SYNs silently.
        var fillers: [TCPStream] = []
        defer { for filler in fillers { filler.closeNow() } }
        var timedOut: NetError?
        for _ in 0..<8 where timedOut == nil {
            do {
                fillers.append(try await TCPStream.connect(host: "127.0.0.1", port: listener.localPort, deadline: .now + .milliseconds(300)))
            } catch let error as NetError {
                timedOut = error
            }
        }
        let error = try #require(timedOut, "the accept queue never filled")
        #expect(error.kind == .timedOut, "\(error)")
        #expect(error.message.contains("connect to 127.0.0.1:\(listener.localPort)"))
    }

    @Test("a reset peer surfaces as .connectionReset on read and then on write")
    func peerReset() async throws {
        let (client, server, _) = try await NetIOTest.connectedPair()
        // SO_LINGER {on, 0}: close() sends RST instead of FIN.
        try server.handle.withDescriptor { fd in
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        }
        await server.close()
        // The read waits for the RST to arrive (on a loaded machine that can lag behind close()).
        let (_, readError) = await measureFailure { _ = try await client.read(maxBytes: 10, deadline: NetIOTest.deadline()) }
        #expect((readError as? NetError)?.kind == .connectionReset, "\(String(describing: readError))")
        let (_, writeError) = await measureFailure { try await client.write([1, 2, 3], deadline: NetIOTest.deadline()) }
        #expect((writeError as? NetError)?.kind == .connectionReset, "\(String(describing: writeError))")
        await client.close()
    }

    @Test("close() fails a parked accept with .closed")
    func listenerClose() async throws {
        let listener = try TCPListener(host: "127.0.0.1", port: 0)
        async let parked: (any Error)? = { do { _ = try await listener.accept(); return nil } catch { return error } }()
        #expect(await NetIOTest.eventually { listener.handle.hasWaiter(for: .read) })
        listener.close()
        let error = await parked
        #expect((error as? NetError)?.kind == .closed)
    }

    @Test("cancelling a task parked in read resumes it at once")
    func cancellation() async throws {
        let (client, server, _) = try await NetIOTest.connectedPair()
        let reader = Task { try await client.read(maxBytes: 10, deadline: .now + .seconds(60)) }
        #expect(await NetIOTest.eventually { client.handle.hasWaiter(for: .read) })
        let start = ContinuousClock.now
        reader.cancel()
        let result = await reader.result
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(start.duration(to: .now) < .seconds(10), "well before the 60 s deadline")
        await client.close()
        await server.close()
    }

    @Test("one reactor serves 500 concurrent connections")
    func fiveHundredConnections() async throws {
        let listener = try TCPListener(host: "127.0.0.1", port: 0)
        defer { listener.close() }
        let count = 500
        let server = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<count {
                    let connection = try await listener.accept()
                    group.addTask {
                        let request = try await connection.read(maxBytes: 64, deadline: NetIOTest.deadline(30))
                        try await connection.write(request + request, deadline: NetIOTest.deadline(30))
                        await connection.close()
                    }
                }
                try await group.waitForAll()
            }
        }
        // Open all connections first so all 500 are open at once, then exchange on each.
        let clients = try await withThrowingTaskGroup(of: TCPStream.self) { group in
            for _ in 0..<count {
                group.addTask { try await TCPStream.connect(host: "127.0.0.1", port: listener.localPort, deadline: NetIOTest.deadline(30)) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(clients.count == count)
        let echoed = try await withThrowingTaskGroup(of: Bool.self) { group in
            for (index, client) in clients.enumerated() {
                group.addTask {
                    let message = Array("#\(index)".utf8)
                    try await client.write(message, deadline: NetIOTest.deadline(30))
                    let reply = try await NetIOTest.readAll(client, deadline: NetIOTest.deadline(30))
                    await client.close()
                    return reply == message + message
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(echoed == count)
        try await server.value
    }
}
