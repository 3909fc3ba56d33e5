import ArgumentParser
import Foundation
import KateAdmission
import KateContract
import KateNet
import KateSweeper
import Logging

/// `kate webhook`: the mutating admission webhook over kate's own TLS + HTTP/1.1 server.
/// Wiring only: the server, TLS and admission logic live in KateNet and KateAdmission.
struct WebhookCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhook",
        abstract: "Serve the mutating admission webhook over TLS.",
        discussion: """
            Serves POST /mutate and /validate (AdmissionReview v1), GET /healthz, /readyz and /metrics.
            With --health-listen, /healthz and /readyz are also served over plain HTTP on a second address with its own connection limit, so the kubelet's probes get through when the main listener is at --max-connections.
            With --self-signed no certificate files are needed: a throwaway CA is written to --ca-out.
            With --events-listen, POST /registry-events takes registry push notifications (distribution, Docker Hub, Harbor, Quay, GitHub Packages, ACR, CloudEvents) on a TLS listener of its own and re-resolves each pushed tag at once; --ledger carries the new digest to every replica.
            SIGTERM/SIGINT stop accepting, let in-flight reviews finish within --grace-period, then exit 0.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var admission: AdmissionOptions
    @OptionGroup var events: EventsOptions
    @OptionGroup var ledgerOptions: LedgerOptions

    @Option(help: "Address to listen on: 0.0.0.0:8443, [::]:8443, 127.0.0.1:0 (ephemeral port). [env: KATE_LISTEN]")
    var listen: String = Environment.string("KATE_LISTEN") ?? "0.0.0.0:8443"

    @Option(help: "Serving certificate chain (PEM), reloaded when it changes on disk. [env: KATE_TLS_CERT]")
    var tlsCert: String?

    @Option(help: "Serving private key (PEM, RSA or ECDSA). [env: KATE_TLS_KEY]")
    var tlsKey: String?

    // Optional flags take their environment variable when used (ArgumentParser deprecates
    // defaults on Optional options).
    private var effectiveTLSCert: String? { tlsCert ?? Environment.string("KATE_TLS_CERT") }
    private var effectiveTLSKey: String? { tlsKey ?? Environment.string("KATE_TLS_KEY") }

    @Flag(help: "Generate a throwaway CA and serving certificate instead of --tls-cert/--tls-key. [env: KATE_SELF_SIGNED]")
    var selfSigned: Bool = Environment.bool("KATE_SELF_SIGNED") ?? false

    @Option(help: "DNS name for the self-signed certificate (repeatable). Default: localhost, kate.kate-system.svc. [env: KATE_DNS_NAME]")
    var dnsName: [String] = Environment.list("KATE_DNS_NAME") ?? []

    @Option(help: "Where --self-signed writes its CA certificate. [env: KATE_CA_OUT]")
    var caOut: String = Environment.string("KATE_CA_OUT") ?? "./kate-ca.pem"

    @Option(help: "How often to check --tls-cert/--tls-key for changes. [env: KATE_CERT_RELOAD_INTERVAL]")
    var certReloadInterval: String = Environment.string("KATE_CERT_RELOAD_INTERVAL") ?? "10s"

    @Option(help: "Largest request head; larger gets 431. [env: KATE_MAX_HEADER_BYTES]")
    var maxHeaderBytes: Int = Environment.int("KATE_MAX_HEADER_BYTES") ?? 16384

    @Option(help: "Largest request body; larger gets 413. [env: KATE_MAX_BODY_BYTES]")
    var maxBodyBytes: Int = Environment.int("KATE_MAX_BODY_BYTES") ?? 8_388_608

    @Option(help: "TLS handshake deadline. [env: KATE_HANDSHAKE_TIMEOUT]")
    var handshakeTimeout: String = Environment.string("KATE_HANDSHAKE_TIMEOUT") ?? "10s"

    @Option(help: "Deadline for a request head from its first byte (slowloris guard); then 408. [env: KATE_HEADER_TIMEOUT]")
    var headerTimeout: String = Environment.string("KATE_HEADER_TIMEOUT") ?? "10s"

    @Option(help: "Deadline for a request body after its head; then 408. [env: KATE_BODY_TIMEOUT]")
    var bodyTimeout: String = Environment.string("KATE_BODY_TIMEOUT") ?? "30s"

    @Option(help: "Idle keep-alive connections are closed after this. [env: KATE_IDLE_TIMEOUT]")
    var idleTimeout: String = Environment.string("KATE_IDLE_TIMEOUT") ?? "90s"

    @Option(help: "Open connections beyond this are shed (503 or refused). [env: KATE_MAX_CONNECTIONS]")
    var maxConnections: Int = Environment.int("KATE_MAX_CONNECTIONS") ?? 4096

    @Option(help: "Extra connections past --max-connections that may only ask /healthz and /readyz, so kubelet's probes get through under overload. [env: KATE_PROBE_RESERVE]")
    var probeReserve: Int = Environment.int("KATE_PROBE_RESERVE") ?? 16

    @Option(help: "Also answer GET /healthz and /readyz (nothing else) over plain HTTP on this address, e.g. 0.0.0.0:8081, with a connection limit of its own that --max-connections does not count; point the kubelet's probes here. Empty: off. [env: KATE_HEALTH_LISTEN]")
    var healthListen: String = Environment.string("KATE_HEALTH_LISTEN") ?? ""

    @Option(help: "A handler still running after this is answered 503 and cancelled. [env: KATE_HANDLER_TIMEOUT]")
    var handlerTimeout: String = Environment.string("KATE_HANDLER_TIMEOUT") ?? "30s"

    @Option(help: "On SIGTERM/SIGINT, how long in-flight requests may take. [env: KATE_GRACE_PERIOD]")
    var gracePeriod: String = Environment.string("KATE_GRACE_PERIOD") ?? "20s"

    func validate() throws {
        _ = try serverConfiguration()
        if !selfSigned {
            guard effectiveTLSCert != nil, effectiveTLSKey != nil else {
                throw ValidationError("give --tls-cert and --tls-key (a mounted Secret), or --self-signed to generate a throwaway certificate")
            }
        }
        guard maxHeaderBytes >= 1024 else { throw ValidationError("--max-header-bytes must be at least 1024 (got \(maxHeaderBytes))") }
        guard maxBodyBytes >= 1024 else { throw ValidationError("--max-body-bytes must be at least 1024 (got \(maxBodyBytes))") }
        guard maxConnections >= 1 else { throw ValidationError("--max-connections must be at least 1 (got \(maxConnections))") }
        guard probeReserve >= 0 else { throw ValidationError("--probe-reserve must be 0 or more (got \(probeReserve))") }
        _ = try healthAddress()
        try events.validate(ownNamespace: admission.ownNamespace)
        try ledgerOptions.validate(ownNamespace: admission.ownNamespace)
    }

    func run() async throws {
        let logger = global.bootstrapLogging(label: "kate.webhook")
        KateMetrics.bootstrap()
        // Before anything slow: from here SIGTERM means "drain", not "die".
        let signals = ShutdownSignals()
        let configuration = try serverConfiguration()

        let tls: TLSServerContext
        if selfSigned {
            tls = try makeSelfSigned(logger: logger)
        } else if let tlsCert = effectiveTLSCert, let tlsKey = effectiveTLSKey {
            tls = try TLSServerContext(certificateChain: .file(tlsCert), privateKey: .file(tlsKey), logger: logger)
            tls.startWatching(every: try duration(certReloadInterval, flag: "--cert-reload-interval"))
        } else {
            throw ValidationError("give --tls-cert and --tls-key, or --self-signed")
        }

        let readiness = ReadinessFlag()
        var router = Router()
        router.addOperationalRoutes(readiness: readiness, metrics: { KateMetrics.render() })
        let installed = try admission.prepare(logger: logger)
        let pushSweep = try events.makePushSweep(
            installed: installed, kube: admission.kube, namespace: admission.ownNamespace,
            skipNamespaces: try admission.makeConfiguration().policy.skipNamespaces, identity: AdmissionOptions.reportingInstance, logger: logger)
        let ledger = try events.makeLedger(
            ledgerOptions, installed: installed, kube: admission.kube, namespace: admission.ownNamespace, pushSweep: pushSweep, logger: logger)
        let cooldown = events.makeCooldownGate(ledgerOptions, installed: installed, ledger: ledger)
        try admission.install(installed, into: &router, cooldown: cooldown, logger: logger)

        let server = HTTPServer(configuration: configuration, tls: tls, responder: router, logger: logger)
        let health = try healthAddress().map { HealthListener(host: $0.host, port: $0.port, readiness: readiness, logger: logger) }
        let eventsServer = try makeEventsServer(
            installed: installed, ledger: ledger?.0, pushSweep: ledger == nil ? pushSweep : nil, configuration: configuration, tls: tls, logger: logger)
        let port = try await bind(flag: "--listen", address: listen) { try await server.start() }
        if let health {
            try await bind(flag: "--health-listen", address: healthListen) { try await health.start() }
        }
        if let eventsServer {
            let eventsPort = try await bind(flag: "--events-listen", address: events.eventsListen) { try await eventsServer.start() }
            logger.notice("registry events: POST \(RegistryEventsReceiver.path) on port \(eventsPort)", metadata: ["ledger": "\(ledger != nil)"])
        }
        // The events listener and the ledger watch run beside the webhook and stop after it drained.
        let background = Task {
            await withTaskGroup(of: Void.self) { group in
                if let eventsServer { group.addTask { await eventsServer.run() } }
                if let reader = ledger?.1 { group.addTask { await LedgerFollower(reader: reader, logger: logger).run() } }
                if let recorder = ledger?.2 { group.addTask { await recorder.run() } }
                if let pushSweep { group.addTask { await pushSweep.run() } }
            }
        }
        if selfSigned {
            FileHandle.standardError.write(Data("try: curl --cacert \(caOut) https://localhost:\(port)/healthz\n".utf8))
        }
        // Readiness is set once both listeners are bound, and cleared on the signal before the
        // drain; the health listener keeps answering /healthz until the main one has drained.
        await server.serve(alongside: health, readiness: readiness, gracePeriod: configuration.gracePeriod) {
            let signal = await signals.wait()
            logger.notice("received \(signal): draining (grace period \(gracePeriod))")
        }
        await eventsServer?.shutdown(gracePeriod: .seconds(2))
        background.cancel()
        await background.value
        tls.stopWatching()
        logger.notice("webhook stopped")
    }

    /// The `POST /registry-events` listener, or nil without --events-listen: its own HTTPServer with
    /// the webhook's certificate, sharing the webhook's resolver (a push must drop *its* cache).
    /// Without the ledger a push sweeps only from the replica that received it (`pushSweep`); with it,
    /// the ledger's watch queues the tag on the leader, wherever the push arrived.
    private func makeEventsServer(
        installed: AdmissionOptions.Installed, ledger: DigestLedger?, pushSweep: PushSweepRunner?, configuration: HTTPServerConfiguration,
        tls: TLSServerContext, logger: Logger
    ) throws -> HTTPServer? {
        guard events.enabled else { return nil }
        let refresher = TagRefresher(resolver: installed.resolver, keyring: installed.keyring, ledger: ledger)
        var router = Router()
        var afterRefresh: (@Sendable (RegistryPush, String) async -> Void)?
        if let pushSweep {
            afterRefresh = { @Sendable push, _ in pushSweep.trigger(push.reference) }
        }
        router.add(
            "POST", RegistryEventsReceiver.path,
            RegistryEventsReceiver(authentication: try events.authentication(), refresher: refresher, logger: logger, afterRefresh: afterRefresh))
        return HTTPServer(configuration: try events.serverConfiguration(from: configuration), tls: tls, responder: router, logger: logger)
    }

    private func makeSelfSigned(logger: Logger) throws -> TLSServerContext {
        var names = dnsName.isEmpty ? ["localhost", "kate.kate-system.svc"] : dnsName
        if !names.contains("localhost") { names.append("localhost") }
        let selfSigned = try SelfSignedServing(dnsNames: names)
        do {
            try Data(selfSigned.authority.certificatePEM.utf8).write(to: URL(fileURLWithPath: caOut), options: .atomic)
        } catch {
            throw ValidationError("cannot write the self-signed CA to --ca-out \(caOut): \(error.localizedDescription)")
        }
        logger.notice("self-signed serving certificate for \(names.joined(separator: ", ")), 127.0.0.1, ::1; CA written to \(caOut)")
        return try selfSigned.makeContext(logger: logger)
    }

    /// The --health-listen address, or nil when it is off (empty).
    private func healthAddress() throws -> (host: String, port: Int)? {
        guard !healthListen.isEmpty else { return nil }
        do {
            return try HTTPServerConfiguration.parseListenAddress(healthListen)
        } catch {
            throw ValidationError("--health-listen: \(error)")
        }
    }

    /// Binds a listener; a failure (port in use, address not local) becomes one line naming the
    /// flag, so it is clear which of the two listeners could not start.
    @discardableResult
    private func bind(flag: String, address: String, _ start: () async throws -> Int) async throws -> Int {
        do {
            return try await start()
        } catch {
            throw ListenFailure(description: "\(flag) \(address): \(error); give \(flag) a free port on an address of this machine")
        }
    }

    private func serverConfiguration() throws -> HTTPServerConfiguration {
        let (host, port): (String, Int)
        do {
            (host, port) = try HTTPServerConfiguration.parseListenAddress(listen)
        } catch {
            throw ValidationError("--listen: \(error)")
        }
        return HTTPServerConfiguration(
            host: host, port: port, maxHeaderBytes: maxHeaderBytes, maxBodyBytes: maxBodyBytes,
            handshakeTimeout: try duration(handshakeTimeout, flag: "--handshake-timeout"),
            headerReadTimeout: try duration(headerTimeout, flag: "--header-timeout"),
            bodyReadTimeout: try duration(bodyTimeout, flag: "--body-timeout"),
            idleTimeout: try duration(idleTimeout, flag: "--idle-timeout"),
            maxConnections: maxConnections,
            probeReserve: probeReserve,
            handlerTimeout: try duration(handlerTimeout, flag: "--handler-timeout"),
            gracePeriod: try duration(gracePeriod, flag: "--grace-period"))
    }

    private func duration(_ text: String, flag: String) throws -> Duration {
        guard let value = GoDuration.parse(text), value > .zero else {
            throw ValidationError("\(flag) must be a positive duration like 10s, 500ms or 1m30s (got \(text))")
        }
        return value
    }
}

/// A listener that could not be bound; ArgumentParser prints it as "Error: <description>" and the
/// process exits non-zero.
struct ListenFailure: Error, CustomStringConvertible {
    let description: String
}
