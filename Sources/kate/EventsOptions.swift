import ArgumentParser
import Foundation
import KateAdmission
import KateContract
import KateKube
import KateNet
import KateRegistry
import KateSweeper
import Logging

/// `kate webhook`'s push-triggered re-resolve flags: the `POST /registry-events` listener (off
/// unless --events-listen is given, never anonymous) and the digest ledger that carries a push to
/// every replica.
struct EventsOptions: ParsableArguments {
    @Option(help: "Serve POST /registry-events (registry push notifications) over TLS with the webhook's certificate on this address of its own, e.g. 0.0.0.0:8444. Needs --events-token-file and/or --events-hmac-secret-file. Empty: off. [env: KATE_EVENTS_LISTEN]")
    var eventsListen: String = Environment.string("KATE_EVENTS_LISTEN") ?? ""

    @Option(help: "File holding the shared token senders present as Authorization: Bearer <token> (or ?token= for Docker Hub and Quay, which cannot set headers). [env: KATE_EVENTS_TOKEN_FILE]")
    var eventsTokenFile: String = Environment.string("KATE_EVENTS_TOKEN_FILE") ?? ""

    @Option(help: "File holding the secret of HMAC-SHA256 body signatures (X-Hub-Signature-256: sha256=<hex>, as GitHub sends). [env: KATE_EVENTS_HMAC_SECRET_FILE]")
    var eventsHmacSecretFile: String = Environment.string("KATE_EVENTS_HMAC_SECRET_FILE") ?? ""

    @Option(help: "Largest registry event body; larger gets 413. [env: KATE_EVENTS_MAX_BODY_BYTES]")
    var eventsMaxBodyBytes: Int = Environment.int("KATE_EVENTS_MAX_BODY_BYTES") ?? 1_048_576

    @Flag(help: "After a push, the leader (Lease kate-push-sweeper in --own-namespace) sweeps the owners of the pods running the pushed tag, as kate sweep would (rollout restart, every guard). Needs --events-listen and the sweeper's RBAC for the webhook's ServiceAccount. [env: KATE_PUSH_SWEEP]")
    var pushSweep: Bool = Environment.bool("KATE_PUSH_SWEEP") ?? false

    var enabled: Bool { !eventsListen.isEmpty }

    func validate(ownNamespace: String) throws {
        if pushSweep {
            guard enabled else { throw ValidationError("--push-sweep needs --events-listen: pushes are what trigger it") }
            guard !ownNamespace.isEmpty else {
                throw ValidationError("--push-sweep needs kate's namespace for its Lease: give --own-namespace (or set POD_NAMESPACE)")
            }
        }
        guard enabled else { return }
        do {
            _ = try HTTPServerConfiguration.parseListenAddress(eventsListen)
        } catch {
            throw ValidationError("--events-listen: \(error)")
        }
        guard !eventsTokenFile.isEmpty || !eventsHmacSecretFile.isEmpty else {
            throw ValidationError("--events-listen needs --events-token-file or --events-hmac-secret-file: the registry-events receiver is never anonymous")
        }
        guard eventsMaxBodyBytes >= 1024 else { throw ValidationError("--events-max-body-bytes must be at least 1024 (got \(eventsMaxBodyBytes))") }
        _ = try authentication()
    }

    /// The secrets, read from their files (trailing newlines, which `echo` and editors add, dropped).
    func authentication() throws -> EventAuthentication {
        let token = try secret(eventsTokenFile, flag: "--events-token-file")
        let hmac = try secret(eventsHmacSecretFile, flag: "--events-hmac-secret-file")
        guard let authentication = EventAuthentication(token: token, hmacSecret: hmac) else {
            throw ValidationError("--events-listen needs --events-token-file or --events-hmac-secret-file: the registry-events receiver is never anonymous")
        }
        return authentication
    }

    private func secret(_ path: String, flag: String) throws -> String? {
        guard !path.isEmpty else { return nil }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ValidationError("\(flag) \(path) cannot be read: \(error.localizedDescription); mount the Secret there or fix the path")
        }
        let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !value.isEmpty else { throw ValidationError("\(flag) \(path) is empty; put the secret in it") }
        return value
    }

    /// The listener's server settings: the webhook's limits, its own address and body limit.
    func serverConfiguration(from webhook: HTTPServerConfiguration) throws -> HTTPServerConfiguration {
        let (host, port) = try HTTPServerConfiguration.parseListenAddress(eventsListen)
        var configuration = webhook
        configuration.host = host
        configuration.port = port
        configuration.maxBodyBytes = eventsMaxBodyBytes
        configuration.maxConnections = min(webhook.maxConnections, 256)
        configuration.probeReserve = 0
        return configuration
    }

    /// The ledger writer and the watch-backed reader whose changes drop this replica's cached tags
    /// (and, with --push-sweep, queue the tag for the leader's targeted sweep).
    func makeLedger(
        _ options: LedgerOptions, installed: AdmissionOptions.Installed, kube: KubeOptions, namespace: String, pushSweep: PushSweepRunner?,
        logger: Logger
    ) throws -> (DigestLedger, DigestLedgerReader, LedgerRecorder)? {
        guard options.ledger else { return nil }
        let client = try installed.client ?? kube.makeClient(fieldManager: "kate-webhook", logger: logger)
        let invalidation = LedgerCacheInvalidation(resolver: installed.resolver, logger: logger)
        let reader = DigestLedgerReader(client: client, namespace: namespace) { reference, newest in
            invalidation.tagChanged(reference: reference, newestDigest: newest)
            if newest != nil, let parsed = try? ImageReference.parse(reference) { pushSweep?.trigger(parsed) }
        }
        let writer = DigestLedger(client: client, namespace: namespace)
        return (writer, reader, LedgerRecorder(ledger: writer, logger: logger))
    }

    /// The cooldown gate on the ledger's copy (nil when --cooldown is 0 and no namespace can ask for
    /// one: without the ledger there is nothing to count from). With the ledger on, every replica
    /// records the digests it resolves, so the sweeper and the other replicas count from the first.
    func makeCooldownGate(
        _ options: LedgerOptions, installed: AdmissionOptions.Installed, ledger: (DigestLedger, DigestLedgerReader, LedgerRecorder)?
    ) -> CooldownGate? {
        guard let ledger else { return nil }
        return CooldownGate(cooldown: options.cooldownDuration, copy: ledger.1, recorder: ledger.2, namespaces: installed.namespaceLabels)
    }

    /// The leader-elected targeted sweeper, or nil without --push-sweep.
    func makePushSweep(
        installed: AdmissionOptions.Installed, kube: KubeOptions, namespace: String, skipNamespaces: Set<String>, identity: String, logger: Logger
    ) throws -> PushSweepRunner? {
        guard pushSweep else { return nil }
        let client = try kube.makeClient(fieldManager: "kate-push-sweeper", logger: logger)
        let configuration = SweeperConfiguration(
            scope: CollectionScope(excludedNamespaces: skipNamespaces), mountedKeyring: installed.keyring)
        let sweeper = PushSweeper(Sweeper(cluster: client, resolver: installed.resolver, configuration: configuration, logger: logger))
        let elector = LeaderElector(client: client, namespace: namespace, name: PushSweepRunner.lease, identity: identity)
        return PushSweepRunner(elector: elector, sweeper: sweeper, logger: logger)
    }
}

/// Follows the ledger for the life of the process: a watch that gave up (API down longer than its
/// retries) is started again after a pause; the copy and the cache keep working meanwhile.
struct LedgerFollower: Sendable {
    let reader: DigestLedgerReader
    let logger: Logger

    func run() async {
        while !Task.isCancelled {
            do {
                try await reader.run()
            } catch is CancellationError {
                return
            } catch {
                logger.warning("ledger watch stopped: \(error); retrying in 5s (caches still work, a push on another replica reaches this one once it resumes)")
            }
            try? await Task.sleep(for: .seconds(5))
        }
    }
}
