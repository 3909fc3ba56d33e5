import Foundation
import KateContract
import KateNet
import KateRegistry
import Logging

public struct SweeperConfiguration: Sendable {
    public var scope: CollectionScope
    public var policy: ActionPolicy
    /// The mounted docker config (`--docker-config`), tried after the pods' own pull secrets.
    public var mountedKeyring: Keyring
    /// Registry lookups in flight at once.
    public var resolveConcurrency: Int
    /// Kubernetes reads (owners, ServiceAccounts, secrets) in flight at once.
    public var kubeConcurrency: Int
    /// Per-tag budget including platform listing.
    public var resolveTimeout: Duration
    /// The dangling-pin sentinel and the platform-coverage gate (Verdict/SafetyChecks.swift).
    public var safety: SafetyOptions
    /// `--window`: outside every one (or a namespace's own `kate.dev/window`) the sweep writes nothing. Empty: always.
    public var windows: [MaintenanceWindow] = []
    /// `--notify-url`: where each action, hold and fired guard is POSTed (nil: nowhere).
    public var notify: NotifyOptions?
    /// `--ledger`: the digest ledger (cooldown, recording, GC); nil: not used.
    public var ledger: SweepLedgerOptions?

    public init(
        scope: CollectionScope = CollectionScope(), policy: ActionPolicy = ActionPolicy(), mountedKeyring: Keyring = .empty,
        resolveConcurrency: Int = 32, kubeConcurrency: Int = 8, resolveTimeout: Duration = .seconds(30), safety: SafetyOptions = SafetyOptions()
    ) {
        self.safety = safety
        self.scope = scope
        self.policy = policy
        self.mountedKeyring = mountedKeyring
        self.resolveConcurrency = resolveConcurrency
        self.kubeConcurrency = kubeConcurrency
        self.resolveTimeout = resolveTimeout
    }
}

/// One sweep, in a straight line: collect → resolve → verdict → plan → act → report.
public struct Sweeper: Sendable {
    public let cluster: any SweepCluster
    public let resolver: any TagResolving
    public let configuration: SweeperConfiguration
    public let logger: Logger
    public let metrics: SweepMetrics

    public init(cluster: any SweepCluster, resolver: any TagResolving, configuration: SweeperConfiguration, logger: Logger, metrics: SweepMetrics = SweepMetrics()) {
        self.cluster = cluster
        self.resolver = resolver
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
    }

    /// Throws only when the sweep cannot proceed at all (the pod list failed); everything else is in the report.
    /// `now` is the sweep's one clock reading: restart markers and the maintenance-window decision use it.
    public func run(now: Date = Date()) async throws -> SweepReport {
        let started = ContinuousClock.now
        var phase = started
        func finished(_ name: String, _ detail: @autoclosure () -> String) {
            let now = ContinuousClock.now
            logger.debug("sweep phase \(name) took \(now - phase)", metadata: ["detail": "\(detail())"])
            phase = now
        }
        // One namespace list per sweep, before the pods: the opt-out label and the windows' annotations.
        let namespaces = await readNamespaces(now: now)
        let gate = namespaces.gate
        let ledgerStage = configuration.ledger.map { LedgerStage(options: $0, concurrency: configuration.kubeConcurrency, logger: logger) }
        // One list of the ledger, beside the pod list (nothing reads it before the verdicts).
        async let loaded = ledgerStage?.load()
        var judged = try await collectAndJudge(optedOut: namespaces.optedOut)
        finished("collect+resolve+judge", "\(judged.podCount) pods, \(judged.findings.count) containers, \(judged.resolvedTags) tags")
        let snapshot = await loaded
        var ledgerWarnings: [String] = []
        if let problem = snapshot?.problem {
            ledgerWarnings.append("cannot read the digest ledger (\(problem)); every digest counts as first seen now; grant the sweeper list on imagetaghistories.kate.dev")
        }
        if let ledger = configuration.ledger, let ledgerStage, let snapshot {
            let cooldowns = Self.cooldowns(default: ledger.cooldown, labels: namespaces.cooldowns, warnings: &ledgerWarnings)
            CooldownHold.mark(&judged.findings, snapshot: snapshot, cooldownFor: { cooldowns[$0] ?? ledger.cooldown }, now: now)
            // Facts, not actions: a dry run still writes nothing, report and notify sweeps neither.
            if configuration.policy.writes { ledgerWarnings += await ledgerStage.record(judged.currentDigests, snapshot: snapshot, now: now) }
            finished("ledger", "\(snapshot.histories.count) histories, \(judged.currentDigests.count) tags")
        }
        var findings = judged.findings
        var plan = await plan(findings)
        gate.apply(to: &plan)
        finished("plan", "\(plan.actions.count) actions")
        let results = await ActionExecutor(cluster: cluster, policy: configuration.policy, logger: logger, metrics: metrics).execute(plan, now: now)
        finished("act", "\(results.count) results")
        RevertedRestarts.mark(&findings, plan: plan, results: results)
        // Only a sweep that saw every pod knows which tags none uses.
        if let ledgerStage, let snapshot, configuration.policy.writes, configuration.scope.namespace == nil, configuration.scope.labelSelector == nil {
            ledgerWarnings += await ledgerStage.collectGarbage(snapshot: snapshot, inUse: judged.trackedReferences, now: now)
        }
        await announceDangling(findings, results: results, gate: gate)
        var report = SweepReport(
            findings: findings, results: results, held: plan.held, skipped: judged.skipped, podCount: judged.podCount,
            resolvedTags: judged.resolvedTags, resolveErrors: judged.resolveErrors,
            warnings: PullPolicyWarnings.warnings(for: findings) + judged.safetyWarnings + plan.warnings + gate.warnings + ledgerWarnings,
            policy: configuration.policy, duration: ContinuousClock.now - started)
        if let notify = configuration.notify {
            let outcome = try await NotificationSender(options: notify, logger: logger).send(SweepNotifications.build(from: report, sweepTime: now), sweepTime: now)
            metrics.recordNotifications(outcome)
            report.warnings += outcome.warnings
        }
        record(report)
        return report
    }

    /// What the report needs from collection and resolution; the targets and keys behind it are
    /// released on return (at 100,000 pods they are tens of MiB).
    struct Judged {
        var findings: [Finding]
        var skipped: [SkippedPod]
        var podCount: Int
        var resolvedTags: Int
        var resolveErrors: Int
        var safetyWarnings: [String] = []
        /// Ledger key → the digest the tag resolved to in this sweep.
        var currentDigests: [String: String] = [:]
        /// Ledger keys of every tag a swept pod tracks, resolved or not (ledger GC keeps them; a superset of
        /// `currentDigests`' keys).
        var trackedReferences: Set<String> = []
    }

    private func collectAndJudge(optedOut: Set<String>) async throws -> Judged {
        let collected = try await collectAndResolve(optedOut: optedOut)
        let judged = await judge(collected.collection.targets, keys: collected.keys, table: collected.table)
        var result = Judged(
            findings: judged.findings, skipped: collected.collection.skipped, podCount: collected.collection.podCount,
            resolvedTags: collected.table.states.count, resolveErrors: collected.table.errorCount, safetyWarnings: judged.safety.warnings)
        if configuration.ledger != nil {
            for key in collected.keys {
                guard let key else { continue }
                let reference = LedgerKey.reference(canonicalName: key.image.canonicalName, tag: key.image.tag)
                result.trackedReferences.insert(reference)
                if result.currentDigests[reference] == nil, let digest = collected.table[key]?.indexDigest { result.currentDigests[reference] = digest }
            }
        }
        return result
    }

    struct Collected {
        var collection: PodCollector.Collection
        /// Per target, its registry question (nil: nothing to ask).
        var keys: [ResolveKey?]
        var table: ResolutionTable
    }

    /// Lists pods page by page and resolves tags at the same time: each page's new (tag, credentials)
    /// pairs go to the credential reader, then to the registry, while the next page is fetched, so
    /// listing 10,000 pods hides behind the registry's round trips instead of preceding them.
    private func collectAndResolve(optedOut: Set<String>) async throws -> Collected {
        var scope = configuration.scope
        scope.excludedNamespaces.formUnion(optedOut)
        let collector = PodCollector(scope: scope)
        let (pages, pageFeed) = AsyncStream.makeStream(of: [PodImage].self)
        let (requests, requestFeed) = AsyncStream.makeStream(of: ResolutionTable.Request.self)
        // Whatever happens below, the stages see their input end (else the async lets never return).
        defer { pageFeed.finish() }
        async let credentialScopes = credentialStage(pages, feeding: requestFeed)
        async let answers = ResolutionTable.indexDigests(
            of: requests, resolver: resolver, concurrency: configuration.resolveConcurrency, timeout: configuration.resolveTimeout, logger: logger)

        var collection = PodCollector.Collection()
        var sent = Set<PodImage.Key>()
        // Page by page: decoded pods live one page at a time; what stays is the targets, whose
        // strings the collection's memo shares between pods.
        try await cluster.forEachPodPage(namespace: scope.namespace, labelSelector: scope.labelSelector) { pods, restarted in
            if restarted { collection = PodCollector.Collection() }
            let start = collection.targets.count
            collector.collect(pods, into: &collection)
            var fresh: [PodImage] = []
            for target in collection.targets[start...] {
                guard let image = target.tracking.image else { continue }
                let item = PodImage(pod: target.pod, image: image)
                if sent.insert(item.key).inserted { fresh.append(item) }
            }
            if !fresh.isEmpty { pageFeed.yield(fresh) }
        }
        pageFeed.finish()
        for skipped in collection.skipped { logger.debug("skipped pod \(skipped.pod): \(skipped.reason)") }

        // The scope each pod got when its page was read, not a second reading: a pull secret read
        // again later (the keychain's TTL, a failed read retried) must not change a pod's key.
        let scopes = await credentialScopes
        let indexAnswers = await answers
        let keys = collection.targets.map { target in
            target.tracking.image.map { ResolveKey(image: $0, scope: scopes[PullSecretSubject(target.pod)] ?? CredentialScope(secrets: [])) }
        }
        var observed: [ResolveKey: Set<String>] = [:]
        for (target, key) in zip(collection.targets, keys) {
            guard let key else { continue }
            observed[key, default: []].formUnion([target.pinnedDigest, target.running.digest].compactMap { $0 })
        }
        let table = await ResolutionTable.complete(
            indexAnswers, observed: observed, resolver: resolver, concurrency: configuration.resolveConcurrency, timeout: configuration.resolveTimeout)
        return Collected(collection: collection, keys: keys, table: table)
    }

    /// Reads the pull secrets of each page's new pods through KateContract's keychain (the
    /// webhook's), `kubeConcurrency` subjects at a time, then hands their (tag, credentials) pairs on
    /// to the registry stage, each pair once. Returns the scope given to each subject.
    private func credentialStage(
        _ pages: AsyncStream<[PodImage]>, feeding requests: AsyncStream<ResolutionTable.Request>.Continuation
    ) async -> [PullSecretSubject: CredentialScope] {
        // One keychain per sweep: nothing read in one sweep is trusted by the next.
        let keychain = PullSecretKeychain(reader: cluster, node: configuration.mountedKeyring)
        let timeout = configuration.resolveTimeout, logger = logger
        var credentials: [PullSecretSubject: (scope: CredentialScope, keyring: Keyring)] = [:]
        var reported = Set<String>()
        var requested = Set<ResolveKey>()
        for await page in pages {
            var fresh: [PullSecretSubject] = [], queued = Set<PullSecretSubject>()
            for item in page {
                let subject = PullSecretSubject(item.pod)
                if credentials[subject] == nil, queued.insert(subject).inserted { fresh.append(subject) }
            }
            let keyrings = await BoundedParallel.map(fresh, concurrency: configuration.kubeConcurrency) { subject in
                await keychain.keyring(for: subject, deadline: .now + timeout, logger: logger)
            }
            for (subject, found) in zip(fresh, keyrings) {
                // A missing secret is named once per sweep, not once per pod naming it.
                for problem in found.problems where reported.insert(problem).inserted {
                    logger.warning("\(problem); resolving without it")
                }
                credentials[subject] = (CredentialScope(secrets: found.pullSecrets), found.keyring)
            }
            for item in page {
                guard let credential = credentials[PullSecretSubject(item.pod)] else { continue }
                let key = ResolveKey(image: item.image, scope: credential.scope)
                if requested.insert(key).inserted { requests.yield(ResolutionTable.Request(key: key, keyring: credential.keyring)) }
            }
        }
        requests.finish()
        return credentials.mapValues(\.scope)
    }

    struct JudgedFindings {
        var findings: [Finding]
        var safety: SafetyChecks.Outcome
    }

    private func judge(_ targets: [ContainerTarget], keys: [ResolveKey?], table: ResolutionTable) async -> JudgedFindings {
        var findings = zip(targets, keys).map { target, key in
            Finding(target: target, judgement: VerdictJudge.judge(target, tag: key.flatMap { table[$0] }))
        }
        SplitDetector.markSplits(&findings)
        let safety = await SafetyChecks(
            resolver: resolver, nodes: cluster as? any NodePlatformReading, options: configuration.safety,
            concurrency: configuration.resolveConcurrency, timeout: configuration.resolveTimeout, logger: logger
        ).review(&findings, keys: keys, table: table)
        func ordered(_ a: Finding, _ b: Finding) -> Bool {
            (a.target.pod.namespace, a.target.pod.name, a.target.container) < (b.target.pod.namespace, b.target.pod.name, b.target.container)
        }
        // Pages arrive in the API server's (namespace, name) order: usually nothing to sort, and
        // sorting 100,000 findings anyway would allocate a temporary buffer of half of them.
        if !zip(findings, findings.dropFirst()).allSatisfy({ !ordered($1, $0) }) { findings.sort(by: ordered) }
        return JudgedFindings(findings: findings, safety: safety)
    }

    /// Owners are read only for pods that need an action.
    private func plan(_ findings: [Finding]) async -> SweepPlan {
        let stalePods = Array(Set(findings.filter { $0.judgement.verdict.isStale }.map(\.target.pod)))
        let owners = await OwnerDirectory.load(for: stalePods, from: cluster, concurrency: configuration.kubeConcurrency)
        // A dangling pin whose tag no longer resolves has no fresh digest to roll onto: held, not restarted.
        let rootless = findings.filter { $0.judgement.verdict == .dangling && $0.judgement.currentDigest == nil }
        let rootlessPods = Set(rootless.map { PodKey(namespace: $0.target.pod.namespace, name: $0.target.pod.name) })
        var plan = ActionPlanner(action: configuration.policy.action).plan(
            findings.filter { !rootlessPods.contains(PodKey(namespace: $0.target.pod.namespace, name: $0.target.pod.name)) }, owners: owners)
        for pod in rootlessPods { plan.held[pod] = "pinned digest is gone and the tag does not resolve; push the tag again" }
        return plan
    }

    /// One Warning Event per owner with dangling pins (when the sweep writes) and the gauge.
    private func announceDangling(_ findings: [Finding], results: [ActionResult], gate: WindowGate) async {
        let owners = DanglingNotice.owners(findings, results: results)
        guard !owners.isEmpty else { return }
        metrics.recordDangling(DanglingNotice.counts(owners))
        guard configuration.policy.writes else { return }
        for (owner, evidence) in owners.sorted(by: { $0.key.label < $1.key.label }) where gate.heldReason(namespace: owner.subject.namespace) == nil {
            do {
                try await cluster.recordEvent(DanglingNotice.event(for: owner, findings: evidence))
            } catch {
                logger.warning("could not record Event on \(owner.subject.kind) \(owner.subject.namespace)/\(owner.subject.name): \(error)")
            }
        }
    }

    struct NamespaceReading {
        var optedOut: Set<String>
        var gate: WindowGate
        /// Namespace → its `kate.dev/cooldown` label.
        var cooldowns: [String: String] = [:]
    }

    /// The namespaces' cooldown labels, parsed; one that is not a duration keeps `--cooldown` and is named once.
    static func cooldowns(default fallback: Duration, labels: [String: String], warnings: inout [String]) -> [String: Duration] {
        var parsed: [String: Duration] = [:]
        for (namespace, value) in labels.sorted(by: { $0.key < $1.key }) {
            do throws(Cooldown.InvalidLabel) {
                parsed[namespace] = try Cooldown.parse(label: value)
            } catch {
                warnings.append("namespace \(namespace): \(error); using --cooldown \(GoDuration.humanize(fallback))")
            }
        }
        return parsed
    }

    /// A cluster that reads windows (`KubeClient`) answers the opt-out from the same list; without RBAC to list
    /// namespaces the sweep goes on without either (`--window` then applies to every namespace).
    private func readNamespaces(now: Date) async -> NamespaceReading {
        guard let reader = cluster as? any NamespaceWindowReading else {
            let optedOut = await optedOutNamespaces()
            return NamespaceReading(optedOut: optedOut, gate: WindowGate(now: now, windows: configuration.windows))
        }
        do {
            let facts = try await reader.namespaceFacts()
            return NamespaceReading(
                optedOut: facts.optedOut, gate: WindowGate(now: now, windows: configuration.windows, annotations: facts.windows), cooldowns: facts.cooldowns)
        } catch {
            logger.warning(
                "cannot list namespaces; namespace opt-out (\(KateAnnotations.skip)=true) and \(KateAnnotations.window) annotations not applied, --window applies to every namespace: \(error)")
            return NamespaceReading(optedOut: [], gate: WindowGate(now: now, windows: configuration.windows))
        }
    }

    /// Namespace opt-out is a convenience: without RBAC to list namespaces the sweep goes on without it.
    private func optedOutNamespaces() async -> Set<String> {
        do {
            return try await cluster.optedOutNamespaces()
        } catch {
            logger.warning("cannot list namespaces labelled \(KateAnnotations.skip)=true; namespace opt-out not applied: \(error)")
            return []
        }
    }

    private func record(_ report: SweepReport) {
        var counts: [Verdict: Int] = [:]
        for verdict in report.podVerdicts.values { counts[verdict, default: 0] += 1 }
        metrics.recordPods(counts, stale: report.stalePods)
        metrics.recordResolveErrors(report.resolveErrors)
        metrics.recordDuration(report.duration)
        metrics.recordSuccess(at: Date())
        for warning in report.warnings { logger.warning("\(warning)") }
        logger.info("\(report.summary)")
    }
}

/// A tracked image and the pod whose credentials resolve it: what the credential stage needs.
struct PodImage: Sendable {
    /// What makes two of them the same registry question.
    struct Key: Hashable {
        var subject: PullSecretSubject
        var image: TrackedImage
    }

    var pod: PodIdentity
    var image: TrackedImage
    var key: Key { Key(subject: PullSecretSubject(pod), image: image) }
}

/// A restart re-pulls only if the kubelet must: with `IfNotPresent` and no digest in the spec, a node
/// that cached the old image under the tag starts it again, unless the webhook pins the new pod.
enum PullPolicyWarnings {
    static func warnings(for findings: [Finding]) -> [String] {
        var tags = Set<String>()
        for finding in findings where finding.judgement.verdict.isStale {
            let target = finding.target
            guard target.pinnedDigest == nil, target.effectivePullPolicy == "IfNotPresent", let tag = target.tracking.image?.display else { continue }
            tags.insert(tag)
        }
        return tags.sorted().map {
            "\($0): pods use imagePullPolicy IfNotPresent without a pinned digest; a restart may reuse the node's cached image unless the webhook pins it"
        }
    }
}

/// A stale container whose owner's restart was reverted is reported as `restart-reverted`, with who reverted it.
enum RevertedRestarts {
    static func mark(_ findings: inout [Finding], plan: SweepPlan, results: [ActionResult]) {
        var reverted = plan.reverted
        for result in results {
            guard case .reverted(let reversion) = result.verification else { continue }
            for pod in result.action.pods { reverted[pod] = reversion }
        }
        guard !reverted.isEmpty else { return }
        for index in findings.indices where findings[index].judgement.verdict.isStale {
            let pod = findings[index].target.pod
            guard let reversion = reverted[PodKey(namespace: pod.namespace, name: pod.name)] else { continue }
            findings[index].judgement.verdict = .restartReverted
            findings[index].judgement.reason = reversion.description
        }
    }
}
