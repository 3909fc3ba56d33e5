import Logging
import Metrics

/// A second, plain-HTTP listener that answers only the kubelet's probes (`GET /healthz`,
/// `GET /readyz`; every other path is 404), with a connection limit of its own.
///
/// Why a listener of its own: on the main listener the probes compete with the apiserver's
/// connections for `maxConnections` + `probeReserve` slots. In a storm of reconnecting clients the
/// reserve is taken before the kubelet's probe arrives (measured: 1 of 71 probes answered at 2,000
/// connections), so the kubelet would restart kate exactly when it is busiest. Here neither limit
/// counts the other's connections: the main listener at its limit leaves these slots free, and
/// anything that fills these leaves the webhook alone.
///
/// Plain HTTP because the kubelet does not verify a probe's certificate anyway, and a refused or
/// answered probe then costs no handshake. It carries no admission traffic, no metrics and no
/// secrets, so there is nothing on it to encrypt.
///
/// Its instruments are discarded: the server's metrics share their names across `HTTPServer`s
/// (`kate_http_open_connections` is a gauge each server sets to its own connection count), so a
/// second server would overwrite the webhook's connection figure and mix probes into its request
/// counts.
public final class HealthListener: Sendable {
    /// Connections served at once. The kubelet opens one per probe and closes it after the answer
    /// (liveness and readiness: about one every few seconds), so a handful suffice; past the limit
    /// the answer is 503, which the kubelet counts as one failed probe, not a restart.
    public static let defaultMaxConnections = 16

    public let configuration: HTTPServerConfiguration
    private let server: HTTPServer

    /// - Parameters:
    ///   - readiness: the flag the main listener's `/readyz` reads too (one meaning of "ready").
    ///   - maxConnections: this listener's own limit; the main listener's limit does not count it.
    public init(host: String, port: Int, readiness: ReadinessFlag, maxConnections: Int = HealthListener.defaultMaxConnections, logger: Logger) {
        var router = Router()
        router.addProbeRoutes(readiness: readiness)
        let configuration = Self.configuration(host: host, port: port, maxConnections: maxConnections)
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "listener"] = "health"
        self.server = withMetricsFactory(NOOPMetricsHandler.instance) {
            HTTPServer(configuration: configuration, tls: nil, responder: router, logger: logger)
        }
    }

    /// Limits for a listener whose only clients are probes: a probe's request is one small head
    /// sent at once and answered at once, so the timeouts are short (a connection that sits idle
    /// holds one of few slots; the kubelet gives up on a probe after its timeoutSeconds anyway)
    /// and bodies are not expected.
    static func configuration(host: String, port: Int, maxConnections: Int) -> HTTPServerConfiguration {
        HTTPServerConfiguration(
            host: host, port: port,
            maxHeaderBytes: 8 * 1024,
            maxBodyBytes: 1024,
            headerReadTimeout: .seconds(5),
            bodyReadTimeout: .seconds(5),
            idleTimeout: .seconds(5),
            maxConnections: maxConnections,
            probeReserve: 0,
            handlerTimeout: .seconds(5),
            gracePeriod: .seconds(1),
            writeTimeout: .seconds(5))
    }

    /// Binds the listener and returns the bound port (port 0 picks one).
    /// - Throws: `NetError` naming the address when it cannot be bound (`.addressInUse`, …).
    @discardableResult
    public func start() async throws -> Int { try await server.start() }

    /// Accepts and answers probes until `shutdown` completes.
    public func run() async {
        // Again here: the server creates its per-path counters when a request completes, in the
        // connection's task, which inherits this binding.
        await withMetricsFactory(NOOPMetricsHandler.instance) { await server.run() }
    }

    /// Stops accepting and closes the probe connections (they are short: a second is plenty).
    public func shutdown(gracePeriod: Duration = .seconds(1)) async { await server.shutdown(gracePeriod: gracePeriod) }

    /// True while bound and not shutting down.
    public var isAccepting: Bool { server.isAccepting }
}

extension HTTPServer {
    /// Serves this (already started) server and, if given, its (already started) health listener
    /// until `stop` returns; then drains in the order the kubelet needs:
    ///
    /// 1. `readiness` is cleared, so `/readyz` answers 503 on both listeners and the endpoints
    ///    controller takes the pod out of the Service while it drains;
    /// 2. this server stops accepting and lets requests in flight finish within `gracePeriod`,
    ///    while the health listener keeps answering (`/healthz` 200: a draining pod is alive, and
    ///    a failed liveness probe now would turn a clean exit into a kill);
    /// 3. the health listener stops.
    ///
    /// Returns once both servers have stopped.
    public func serve(alongside health: HealthListener?, readiness: ReadinessFlag, gracePeriod: Duration, until stop: () async -> Void) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.run() }
            if let health { group.addTask { await health.run() } }
            readiness.set(true)
            await stop()
            readiness.set(false)
            await shutdown(gracePeriod: gracePeriod)
            await health?.shutdown()
        }
    }
}
