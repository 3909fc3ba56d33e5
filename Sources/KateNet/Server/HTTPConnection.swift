import Logging

/// Serves one connection: reads requests, answers them in order, enforces the per-phase timeouts.
///
/// Which timeout applies depends on where the parser is: waiting for a first request uses the
/// header timeout (a connection has no business being idle before it asked anything), waiting
/// between requests the idle timeout, a partial head the header timeout counted from its first
/// byte (slowloris), a partial body the body timeout counted from the end of the head.
struct HTTPConnection: Sendable {
    let stream: any ByteStream
    let id: Int
    let configuration: HTTPServerConfiguration
    let responder: any HTTPResponder
    let registry: ConnectionRegistry
    let metrics: HTTPServerMetrics
    let logger: Logger
    /// Accepted past the connection limit from the probe reserve: answers `probePaths`, sheds the rest.
    let probesOnly: Bool
    private let deadlines = HandlerDeadline()

    init(
        stream: any ByteStream, id: Int, configuration: HTTPServerConfiguration, responder: any HTTPResponder,
        registry: ConnectionRegistry, metrics: HTTPServerMetrics, logger: Logger, probesOnly: Bool = false
    ) {
        self.probesOnly = probesOnly
        self.stream = stream
        self.id = id
        self.configuration = configuration
        self.responder = responder
        self.registry = registry
        self.metrics = metrics
        self.logger = logger
    }

    /// Bytes asked of the stream per read; a TLS record carries at most 16 KiB anyway.
    private static let readSize = 16 * 1024

    private enum Exit: Error {
        /// Close without writing anything (EOF, idle timeout, draining, I/O failure).
        case silently
        /// Answer with this status and reason, then close.
        case answer(HTTPParseError)
    }

    /// Serves the connection until it closes. Two child tasks: the request loop and the handler
    /// watchdog; when either ends the other is cancelled (the watchdog ending first means a handler
    /// overran: it has answered 503, and cancelling the loop cancels that handler).
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await serve() }
            group.addTask { await watchdog() }
            await group.next()
            group.cancelAll()
        }
        await stream.close()
    }

    private func serve() async {
        var parser = HTTPRequestParser(limits: .init(maxHeaderBytes: configuration.maxHeaderBytes, maxBodyBytes: configuration.maxBodyBytes))
        do throws(Exit) {
            try await serveRequests(&parser)
            await stream.close()
        } catch {
            guard case .answer(let error) = error else {
                await stream.close()
                return
            }
            logger.debug("rejecting request: \(error)")
            metrics.requestCompleted(path: nil, status: error.status, duration: .zero)
            let response = HTTPSerializer.response(.text(error.status, error.reason), keepAlive: false)
            try? await stream.write(response, deadline: .now + configuration.writeTimeout)
            await Self.lingeringClose(stream)
        }
    }

    private func serveRequests(_ parser: inout HTTPRequestParser) async throws(Exit) {
        var servedAny = false
        var headStarted: ContinuousClock.Instant?
        var bodyStarted = ContinuousClock.now
        while true {
            // Answer everything already buffered (pipelined requests) before reading more.
            while let event = try nextEvent(&parser) {
                switch event {
                case .head(let head):
                    bodyStarted = .now
                    if head.expectsContinue { try await write(HTTPSerializer.continueResponse) }
                case .request(let request, let keepAlive):
                    guard try await answer(request, keepAlive: keepAlive) else { return }
                    servedAny = true
                    headStarted = nil
                }
            }
            let phase = parser.phase
            let deadline: ContinuousClock.Instant
            switch phase {
            case .idle:
                guard registry.markIdle(id) else { return }
                deadline = .now + (servedAny ? configuration.idleTimeout : configuration.headerReadTimeout)
            case .head:
                let started = headStarted ?? .now
                headStarted = started
                deadline = started + configuration.headerReadTimeout
            case .body:
                deadline = bodyStarted + configuration.bodyReadTimeout
            }
            let bytes: [UInt8]
            do {
                bytes = try await stream.read(maxBytes: Self.readSize, deadline: deadline)
            } catch let error as NetError where error.kind == .timedOut {
                switch phase {
                case .idle where servedAny: throw .silently
                case .idle, .head:
                    throw .answer(HTTPParseError(status: 408, reason: "request head not received within \(configuration.headerReadTimeout)"))
                case .body:
                    throw .answer(HTTPParseError(status: 408, reason: "request body not received within \(configuration.bodyReadTimeout)"))
                }
            } catch {
                throw .silently
            }
            if phase == .idle {
                registry.markBusy(id)
                headStarted = .now
            }
            guard !bytes.isEmpty else { throw .silently }
            parser.append(bytes)
        }
    }

    private func nextEvent(_ parser: inout HTTPRequestParser) throws(Exit) -> HTTPRequestParser.Event? {
        do {
            return try parser.next()
        } catch {
            throw .answer(error)
        }
    }

    private func write(_ bytes: [UInt8]) async throws(Exit) {
        do {
            try await stream.write(bytes, deadline: .now + configuration.writeTimeout)
        } catch {
            logger.debug("write failed: \(error)")
            throw .silently
        }
    }

    /// Runs the responder (inline; the watchdog enforces its deadline) and writes its answer.
    /// Returns whether the connection stays open (not if the peer or a shutdown that began
    /// meanwhile says close).
    private func answer(_ request: HTTPRequest, keepAlive: Bool) async throws(Exit) -> Bool {
        let started = ContinuousClock.now
        let deadline = started + configuration.handlerTimeout
        let context = RequestContext(remoteAddress: stream.remoteAddress, deadline: deadline, logger: logger)
        let sequence = deadlines.begin(request, started: started, deadline: deadline)
        let response: HTTPResponse
        if probesOnly && !configuration.probePaths.contains(request.path) {
            metrics.connectionRejected()
            response = .text(503, "server is at its limit of \(configuration.maxConnections) connections; retry")
        } else {
            response = await responder.respond(to: request, context: context)
        }
        // The watchdog answered 503 for this request already and the connection is closing.
        guard deadlines.finish(sequence) else { throw .silently }
        var keep = keepAlive && !registry.isDraining && !probesOnly
        let bytes = HTTPSerializer.response(response, version: request.version, keepAlive: keep, headOnly: request.method == "HEAD")
        var written = (try? await stream.write(bytes, deadline: .now + configuration.writeTimeout)) != nil
        if written, let streaming = response.streamingBody, request.method != "HEAD" {
            written = await stream(streaming, version: request.version)
            keep = keep && request.version.minor >= 1 && !registry.isDraining
        }
        let duration = ContinuousClock.now - started
        metrics.requestCompleted(path: request.path, status: response.status, duration: duration)
        logger.debug("\(request.method) \(request.target) → \(response.status)", metadata: ["duration_ms": "\(duration.seconds * 1000)"])
        guard written else { throw .silently }
        return keep
    }

    /// Runs a streamed body's producer and ends the body; false when it failed (the connection then closes).
    private func stream(_ body: HTTPStreamingBody, version: HTTPVersion) async -> Bool {
        let writer = HTTPBodyWriter(stream: stream, chunked: version.minor >= 1, writeTimeout: configuration.writeTimeout)
        do {
            try await body.produce(writer)
            try await writer.end()
            return version.minor >= 1
        } catch {
            logger.debug("streamed response ended early: \(error)")
            return false
        }
    }

    /// Sleeps until the running handler's deadline (or a handler timeout ahead when none runs: a
    /// request that starts meanwhile has a later deadline) and answers an overdue request with 503.
    /// Returns after answering (the caller then cancels the handler) or when cancelled.
    private func watchdog() async {
        while !Task.isCancelled {
            let wake = deadlines.runningDeadline ?? .now + configuration.handlerTimeout
            // The reactor's timer, not Task.sleep: a cancelled Task.sleep holds ~0.6 KiB until `wake`
            // (a handler timeout ahead), per closed connection (RELIABILITY.md bug 8).
            guard (try? await Reactor.shared().sleep(until: wake)) != nil else { return }
            guard let overdue = deadlines.expire(now: .now) else { continue }
            logger.warning("handler for \(overdue.method) \(overdue.path) exceeded \(configuration.handlerTimeout); answering 503 and cancelling it")
            let response = HTTPResponse.text(503, "handler did not answer within \(configuration.handlerTimeout); request cancelled")
            let bytes = HTTPSerializer.response(response, version: overdue.version, keepAlive: false, headOnly: overdue.method == "HEAD")
            try? await stream.write(bytes, deadline: .now + configuration.writeTimeout)
            metrics.requestCompleted(path: overdue.path, status: 503, duration: .now - overdue.started)
            return
        }
    }

    /// Closes after an error answer without losing it: closing a socket with unread input makes
    /// the kernel send RST, which can destroy the answer in the peer's receive buffer before it
    /// reads it. Reading (and dropping) what the peer still sends for a moment avoids that.
    static func lingeringClose(_ stream: any ByteStream) async {
        if let tcp = stream as? TCPStream { tcp.shutdownWrite() }
        let deadline = ContinuousClock.now + .seconds(1)
        var drained = 0
        while drained < 1 << 20, let bytes = try? await stream.read(maxBytes: 16 * 1024, deadline: deadline), !bytes.isEmpty {
            drained += bytes.count
        }
        await stream.close()
    }
}
