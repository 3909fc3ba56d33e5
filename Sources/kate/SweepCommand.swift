import ArgumentParser
import Foundation
import KateAdmission
import KateContract
import KateNet
import KateSweeper
import Logging

/// `kate sweep`: one pass over the cluster (the chart runs it as a CronJob). Wiring only; the
/// logic is `KateSweeper.Sweeper`.
struct SweepCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Find pods running stale digests and roll their owners.",
        discussion: """
            Exit status: 0 all current or stale pods acted on; 2 stale pods found with --action report or \
            --dry-run, or held because the sweep ran outside their maintenance window; 1 an error stopped \
            the sweep; 64 invalid options (a window that does not parse, …).
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var registry: RegistryOptions
    @OptionGroup var kube: KubeOptions
    @OptionGroup var ledger: LedgerOptions

    @Option(help: "Only this namespace (default: all). [env: KATE_NAMESPACE]")
    var namespace: String?

    @Option(help: "Label selector for the pods to sweep. [env: KATE_SELECTOR, or the old tool's LABELSELECTOR]")
    var selector: String?

    @Option(help: "Namespace to leave alone; repeatable. [env: KATE_EXCLUDE_NAMESPACE, comma-separated]")
    var excludeNamespace: [String] = Environment.list("KATE_EXCLUDE_NAMESPACE") ?? ["kube-system"]

    @Option(help: "rollout (restart owners; evict where a restart replaces nothing), report, notify (report and POST to --notify-url, never act), or delete (old behaviour). [env: KATE_ACTION]")
    var action: String = Environment.string("KATE_ACTION") ?? "rollout"

    @Flag(inversion: .prefixedNo, help: "Plan and report, write nothing to the cluster. [env: KATE_DRY_RUN]")
    var dryRun: Bool = Environment.bool("KATE_DRY_RUN") ?? false

    @Option(help: "At most this many restarts/evictions/deletions per sweep. [env: KATE_MAX_ACTIONS]")
    var maxActions: Int?

    @Option(help: ArgumentHelp(
        "Paced evictions (bare ReplicaSets, OnDelete StatefulSets/DaemonSets): how long to retry a PodDisruptionBudget's refusal and to wait for the workload's Ready pods to recover before evicting its next pod, like kubectl drain --timeout; 0s: the next pod only if the workload has already recovered. [env: KATE_EVICTION_WAIT]",
        valueName: "duration"))
    var evictionWait: String = Environment.string("KATE_EVICTION_WAIT") ?? "2m"

    @Flag(inversion: .prefixedNo, help: "HEAD every pinned and running digest by digest; a 404 is verdict dangling (Event, kate_dangling_digests, roll onto a fresh pin). [env: KATE_DANGLING_CHECK]")
    var danglingCheck: Bool = Environment.bool("KATE_DANGLING_CHECK") ?? true

    @Flag(inversion: .prefixedNo, help: "Before rolling onto a digest no pod of the tag runs yet, check its index lists every node platform; else verdict platform-gap, no roll. Needs nodes: list. [env: KATE_PLATFORM_GATE]")
    var platformGate: Bool = Environment.bool("KATE_PLATFORM_GATE") ?? true

    @Option(help: ArgumentHelp(
        "After restarting, re-read the restarted workloads for up to this long to verify each restart (generation observed, pods updated); one another field manager reverted falls back to paced evictions in this sweep. 0s: the next sweep verifies. [env: KATE_WAIT]",
        valueName: "duration"))
    var wait: String = Environment.string("KATE_WAIT") ?? "0s"

    @Option(help: ArgumentHelp(
        "Maintenance window, repeatable: \"Sat 02:00-04:00 Europe/Berlin\", \"Mon-Fri 22:00-02:00\" (crosses midnight; UTC when no zone). Outside every window stale pods are reported, not rolled; a namespace's kate.dev/window annotation replaces these for its pods. [env: KATE_WINDOW, windows separated by ;]",
        valueName: "window"))
    var window: [String] = Environment.string("KATE_WINDOW").map { [$0] } ?? []

    @Option(help: .hidden)
    var now: String?

    @Option(help: ArgumentHelp(
        "POST a JSON notification here per action taken or planned, per hold and per guard that fired (hooks.slack.com: a Slack message); repeatable. At most 100 per URL per sweep, then one summary; 3 attempts each, 10s in all; failures are report warnings, never sweep errors. [env: KATE_NOTIFY_URL, whitespace- or comma-separated]",
        valueName: "url"))
    var notifyURL: [String] = []

    @Option(help: "auto (Slack body for hooks.slack.com, else JSON), json or slack. [env: KATE_NOTIFY_FORMAT]")
    var notifyFormat: String = Environment.string("KATE_NOTIFY_FORMAT") ?? "auto"

    @Option(help: "kate's namespace, where the ledger lives. [env: KATE_OWN_NAMESPACE, POD_NAMESPACE]")
    var ownNamespace: String = Environment.string("KATE_OWN_NAMESPACE") ?? Environment.string("POD_NAMESPACE") ?? ""

    @Option(help: ArgumentHelp(
        "Ledger GC: forget a tag no pod uses once no kate has seen it this long (only sweeps of every namespace without --selector do it). 0: never. [env: KATE_LEDGER_RETENTION]",
        valueName: "duration"))
    var ledgerRetention: String = Environment.string("KATE_LEDGER_RETENTION") ?? "168h"

    @Option(help: "table or json. [env: KATE_OUTPUT]")
    var output: String = Environment.string("KATE_OUTPUT") ?? "table"

    @Option(help: "Write Prometheus text metrics to this file (atomically) after the sweep. [env: KATE_METRICS_FILE]")
    var metricsFile: String?

    /// Read here, not as the option's default: `--help` prints defaults, and these URLs carry tokens.
    private var effectiveNotifyURLs: [String] {
        notifyURL.isEmpty ? Environment.string("KATE_NOTIFY_URL").map(NotifyURLs.split) ?? [] : notifyURL
    }

    private func notifyTargets() throws -> [NotifyTarget] {
        try effectiveNotifyURLs.map { try NotifyTarget(url: $0, format: notifyFormat) }
    }

    // Optional flags fall back to their environment variables here (ArgumentParser deprecates
    // defaults on optional options).
    private var effectiveNamespace: String? { namespace ?? Environment.string("KATE_NAMESPACE") }
    private var effectiveSelector: String? { selector ?? Environment.string("KATE_SELECTOR") ?? Environment.string("LABELSELECTOR") }
    private var effectiveMaxActions: Int? { maxActions ?? Environment.int("KATE_MAX_ACTIONS") }
    private var effectiveMetricsFile: String? { metricsFile ?? Environment.string("KATE_METRICS_FILE") }

    func validate() throws {
        guard SweepAction(rawValue: action) != nil else {
            throw ValidationError("--action must be rollout, report, notify or delete (got \(action))")
        }
        guard ["table", "json"].contains(output) else { throw ValidationError("--output must be table or json (got \(output))") }
        if let maxActions = effectiveMaxActions, maxActions < 0 { throw ValidationError("--max-actions must be 0 or more (got \(maxActions))") }
        guard let evictionDuration = GoDuration.parse(evictionWait), evictionDuration >= .zero else {
            throw ValidationError("--eviction-wait must be a duration like 2m, 90s or 0s (got \(evictionWait))")
        }
        guard let restartWait = GoDuration.parse(wait), restartWait >= .zero else {
            throw ValidationError("--wait must be a duration like 5m, 90s or 0s (got \(wait))")
        }
        do {
            _ = try MaintenanceWindows.parse(window)
        } catch {
            throw ValidationError("--window: \(error)")
        }
        do {
            _ = try notifyTargets()
        } catch {
            throw ValidationError("\(error)")
        }
        if action == SweepAction.notify.rawValue, effectiveNotifyURLs.isEmpty {
            throw ValidationError("--action notify needs --notify-url (or KATE_NOTIFY_URL)")
        }
        guard let retention = GoDuration.parse(ledgerRetention), retention >= .zero else {
            throw ValidationError("--ledger-retention must be a duration like 168h, or 0 for never (got \(ledgerRetention))")
        }
        try ledger.validate(ownNamespace: ownNamespace)
        if let now, SweepClock.parse(now) == nil {
            throw ValidationError("--now must be an RFC 3339 time like 2026-12-05T01:30:00Z (got \(now))")
        }
    }

    func run() async throws {
        let logger = global.bootstrapLogging(label: "kate.sweep")
        KateMetrics.bootstrap()
        let policy = ActionPolicy(
            action: SweepAction(rawValue: action) ?? .rollout, dryRun: dryRun, maxActions: effectiveMaxActions,
            evictionWait: GoDuration.parse(evictionWait) ?? ActionPolicy.defaultEvictionWait,
            restartWait: GoDuration.parse(wait).flatMap { $0 > .zero ? $0 : nil })
        var configuration = SweeperConfiguration(
            scope: CollectionScope(namespace: effectiveNamespace, labelSelector: effectiveSelector, excludedNamespaces: Set(excludeNamespace)),
            policy: policy, mountedKeyring: try registry.loadKeyring(), resolveConcurrency: registry.registryConcurrency,
            safety: SafetyOptions(danglingCheck: danglingCheck, platformGate: platformGate))
        configuration.windows = (try? MaintenanceWindows.parse(window)) ?? []
        if let targets = try? notifyTargets(), !targets.isEmpty {
            configuration.notify = NotifyOptions(targets: targets, proxy: ProxyConfiguration.fromEnvironment())
        }
        let client = try kube.makeClient(fieldManager: "kate-sweeper", logger: logger)
        if ledger.ledger {
            // lastSeen every 6h: an hourly sweep of a steady cluster rewrites each tag about four times a day, and
            // the 7-day retention is far longer than that.
            let retention = GoDuration.parse(ledgerRetention) ?? .zero
            configuration.ledger = SweepLedgerOptions(
                ledger: DigestLedger(client: client, namespace: ownNamespace, lastSeenResolution: .seconds(6 * 3600)),
                cooldown: ledger.cooldownDuration, retention: retention > .zero ? retention : nil)
        }
        let resolver = try registry.makeResolver(logger: logger)
        let sweeper = Sweeper(cluster: client, resolver: resolver, configuration: configuration, logger: logger)

        let report: SweepReport
        do {
            // One clock reading for the whole sweep (--now, for tests of the window decisions, replaces it).
            report = try await sweeper.run(now: now.flatMap(SweepClock.parse) ?? Date())
        } catch {
            logger.error("sweep stopped: \(error)")
            await client.shutdown()
            await resolver.shutdown()
            throw ExitCode(1)
        }
        await client.shutdown()
        await resolver.shutdown()
        // Streamed in chunks: a 100,000-container report is never one string in memory.
        do {
            try ReportRenderer.write(report, as: output == "json" ? .json : .table) { chunk in
                do {
                    try FileHandle.standardOutput.write(contentsOf: chunk)
                } catch {
                    throw ReportWriteError(reason: "\(error)")
                }
            }
        } catch {
            logger.error("\(error)")
            throw ExitCode(1)
        }

        if let metricsFile = effectiveMetricsFile {
            do {
                try MetricsFile.write(KateMetrics.render(), to: metricsFile)
            } catch {
                // The sweep's work is done and reported; a scrape file is not worth failing the CronJob for.
                logger.error("\(error); the sweep itself completed")
            }
        }
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }
}

/// `KATE_NOTIFY_URL` may hold several URLs (a Secret's value: one per line).
enum NotifyURLs {
    static func split(_ value: String) -> [String] {
        value.split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init)
    }
}

struct ReportWriteError: Error, CustomStringConvertible {
    let reason: String
    var description: String { "cannot write the sweep report to standard output: \(reason)" }
}
