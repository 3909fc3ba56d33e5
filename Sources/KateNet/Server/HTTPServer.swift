import Logging
import Synchronization

/// kate's HTTP/1.1 server (optionally over TLS) on kate's own sockets.
///
/// One accept loop; one child task per connection inside a discarding task group, so `run()`
/// returns only after every connection task has ended. Each connection answers its requests in
/// order (pipelining falls out of that), runs handlers inline with a per-connection watchdog for
/// the handler deadline, and enforces the limits of `HTTPServerConfiguration`.
///
/// Over the connection limit, up to `probeReserve` more connections are served for health probes
/// only (`probePaths`; anything else on them gets 503 and a close), so kubelet does not restart a
/// server that is merely busy. Past that, a plaintext connection gets `503` and is closed; a TLS
/// connection is closed at once, before the handshake: answering 503 over TLS would cost a full
/// handshake (an ECDSA signature) per refused connection, which is exactly the work an overloaded
/// server must not do. The peer sees a reset handshake and retries (the apiserver's client does).
public final class HTTPServer: Sendable {
    private enum Phase {
        case created
        case listening(TCPListener)
        case running(TCPListener)
        case stopped
    }

    public let configuration: HTTPServerConfiguration
    private let tls: TLSServerContext?
    private let responder: any HTTPResponder
    private let logger: Logger
    private let metrics: HTTPServerMetrics
    private let connections: ConnectionRegistry
    private let phase = Mutex(Phase.created)
    private let stopped = OneShotEvent()

    public init(configuration: HTTPServerConfiguration, tls: TLSServerContext?, responder: any HTTPResponder, logger: Logger) {
        self.configuration = configuration
        self.tls = tls
        self.responder = responder
        self.logger = logger
        let metrics = HTTPServerMetrics(knownPaths: (responder as? Router)?.paths ?? [])
        self.metrics = metrics
        self.connections = ConnectionRegistry(countChanged: { metrics.connectionsChanged(to: $0) })
    }

    /// Binds the listener and returns the bound port (useful with port 0). Accepting starts in `run()`.
    /// - Throws: `NetError` if the address cannot be bound (in use, not local, …).
    @discardableResult
    public func start() async throws -> Int {
        let listener = try TCPListener(host: configuration.host, port: configuration.port)
        let accepted = phase.withLock { phase in
            guard case .created = phase else { return false }
            phase = .listening(listener)
            return true
        }
        guard accepted else {
            listener.close()
            throw NetError(.invalidArgument, "HTTPServer.start() called twice or after shutdown")
        }
        logger.info("listening on \(listener.localAddress)", metadata: ["tls": "\(tls != nil)"])
        return listener.localPort
    }

    /// True once `start()` bound the listener and until shutdown begins (what `/readyz` reports).
    public var isAccepting: Bool {
        phase.withLock { phase in
            switch phase {
            case .listening, .running: !connections.isDraining
            case .created, .stopped: false
            }
        }
    }

    /// Accepts and serves connections until `shutdown` completes.
    public func run() async {
        let listener: TCPListener? = phase.withLock { phase in
            guard case .listening(let listener) = phase else { return nil }
            phase = .running(listener)
            return listener
        }
        guard let listener else {
            // Already shut down (nothing to do), or start() was never called (a programming error).
            if !stopped.hasFired { logger.error("HTTPServer.run() called without a successful start()") }
            return
        }
        await withDiscardingTaskGroup { group in
            while true {
                let tcp: TCPStream
                do {
                    tcp = try await listener.accept()
                } catch let error as NetError where error.kind == .closed {
                    break
                } catch {
                    // EMFILE and friends: back off briefly instead of spinning on the same error.
                    logger.warning("accept failed: \(error)")
                    try? await Task.sleep(for: .milliseconds(50))
                    continue
                }
                let open = connections.count
                if open >= configuration.maxConnections + configuration.probeReserve || connections.isDraining {
                    metrics.connectionRejected()
                    group.addTask { await self.refuse(tcp) }
                    continue
                }
                let probesOnly = open >= configuration.maxConnections
                let id = connections.register()
                group.addTask { await self.serve(tcp, id: id, probesOnly: probesOnly) }
            }
            // Draining: wait for the connections to finish, or for the grace period to run out; then
            // cancel whatever is left (handlers included) so that run() returns.
            await connections.drained.wait()
            group.cancelAll()
        }
        phase.withLock { $0 = .stopped }
        logger.info("server stopped")
        stopped.fire()
    }

    /// Stops accepting, closes idle keep-alive connections, lets requests in progress finish for up
    /// to `gracePeriod`, then closes whatever is left and returns once `run()` has returned.
    public func shutdown(gracePeriod: Duration) async {
        let (listener, wasRunning): (TCPListener?, Bool) = phase.withLock { phase in
            switch phase {
            case .listening(let listener): (listener, false)
            case .running(let listener): (listener, true)
            case .created, .stopped: (nil, false)
            }
        }
        logger.info("shutting down: no new connections; in-flight requests get \(gracePeriod.seconds)s")
        listener?.close()
        for stream in connections.beginDraining() { await stream.close() }
        guard wasRunning else {
            phase.withLock { $0 = .stopped }
            stopped.fire()
            return
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [connections, logger] in
                guard (try? await Task.sleep(for: gracePeriod)) != nil else { return }
                let left = connections.allStreams()
                if !left.isEmpty { logger.warning("grace period over: closing \(left.count) connection(s) with requests in progress") }
                for stream in left { await stream.close() }
                connections.drained.fire()
            }
            await stopped.wait()
            group.cancelAll()
        }
    }

    /// Over the connection limit (see the type's comment for why TLS is closed without an answer).
    private func refuse(_ tcp: TCPStream) async {
        if tls == nil {
            let body = HTTPSerializer.response(.text(503, "server is at its limit of \(configuration.maxConnections) connections; retry"), keepAlive: false)
            try? await tcp.write(body, deadline: .now + .seconds(1))
            await HTTPConnection.lingeringClose(tcp)
        } else {
            await tcp.close()
        }
    }

    private func serve(_ tcp: TCPStream, id: Int, probesOnly: Bool) async {
        defer { connections.unregister(id) }
        var logger = self.logger
        logger[metadataKey: "peer"] = "\(tcp.remoteAddress)"
        let stream: any ByteStream
        if let tls {
            do {
                stream = try await TLSStream.accept(tcp, context: tls, deadline: .now + configuration.handshakeTimeout)
            } catch {
                // Counted (kate_tls_handshake_failures_total) and logged by the TLS layer; the
                // connection is already closed. Other connections are unaffected.
                return
            }
        } else {
            stream = tcp
        }
        connections.attach(id, stream: stream)
        let connection = HTTPConnection(
            stream: stream, id: id, configuration: configuration, responder: responder,
            registry: connections, metrics: metrics, logger: logger, probesOnly: probesOnly
        )
        await connection.run()
    }
}
