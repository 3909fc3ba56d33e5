import Foundation
import KateContract
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

    public init(
        scope: CollectionScope = CollectionScope(), policy: ActionPolicy = ActionPolicy(), mountedKeyring: Keyring = .empty,
        resolveConcurrency: Int = 32, kubeConcurrency: Int = 8, resolveTimeout: Duration = .seconds(30)
    ) {
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
    public func run(now: Date = Date()) async throws -> SweepReport {
        let started = ContinuousClock.now
        let collection = try await collect()
        let (keys, table) = await resolve(collection.targets)
        let findings = judge(collection.targets, keys: keys, table: table)
        let plan = await plan(findings)
        let results = await ActionExecutor(cluster: cluster, policy: configuration.policy, logger: logger, metrics: metrics).execute(plan, now: now)
        let report = SweepReport(
            findings: findings, results: results, held: plan.held, skipped: collection.skipped, podCount: collection.podCount,
            resolvedTags: table.states.count, resolveErrors: table.errorCount, warnings: PullPolicyWarnings.warnings(for: findings),
            policy: configuration.policy, duration: ContinuousClock.now - started)
        record(report)
        return report
    }

    private func collect() async throws -> PodCollector.Collection {
        var scope = configuration.scope
        scope.excludedNamespaces.formUnion(await optedOutNamespaces())
        let collector = PodCollector(scope: scope)
        var collection = PodCollector.Collection()
        // Page by page: decoded pods live one page at a time; what stays is the targets, whose
        // strings the collection's memo shares between pods.
        try await cluster.forEachPodPage(namespace: scope.namespace, labelSelector: scope.labelSelector) { pods, restarted in
            if restarted { collection = PodCollector.Collection() }
            collector.collect(pods, into: &collection)
        }
        for skipped in collection.skipped { logger.debug("skipped pod \(skipped.pod): \(skipped.reason)") }
        return collection
    }

    /// Each target's registry question (nil: nothing to ask) and the answers, each question asked once.
    private func resolve(_ targets: [ContainerTarget]) async -> ([ResolveKey?], ResolutionTable) {
        let identities = Array(Set(targets.filter { $0.tracking.image != nil }.map(\.pod)))
        let credentials = await CredentialCatalog.load(
            for: identities, from: cluster, mounted: configuration.mountedKeyring, concurrency: configuration.kubeConcurrency, logger: logger)
        // Scopes depend on namespace, ServiceAccount and secrets only: computed once per combination.
        var scopes: [ScopeSource: CredentialScope] = [:]
        let keys = targets.map { target -> ResolveKey? in
            guard let image = target.tracking.image else { return nil }
            let source = ScopeSource(namespace: target.pod.namespace, serviceAccount: target.pod.serviceAccount, pullSecrets: target.pod.pullSecrets)
            if let scope = scopes[source] { return ResolveKey(image: image, scope: scope) }
            let scope = credentials.scope(for: target.pod)
            scopes[source] = scope
            return ResolveKey(image: image, scope: scope)
        }
        var observed: [ResolveKey: Set<String>] = [:]
        for (target, key) in zip(targets, keys) {
            guard let key else { continue }
            observed[key, default: []].formUnion([target.pinnedDigest, target.running.digest].compactMap { $0 })
        }
        let table = await ResolutionTable.resolve(
            observed, resolver: resolver, credentials: credentials, concurrency: configuration.resolveConcurrency,
            timeout: configuration.resolveTimeout, logger: logger)
        return (keys, table)
    }

    private func judge(_ targets: [ContainerTarget], keys: [ResolveKey?], table: ResolutionTable) -> [Finding] {
        var findings = zip(targets, keys).map { target, key in
            Finding(target: target, judgement: VerdictJudge.judge(target, tag: key.flatMap { table[$0] }))
        }
        SplitDetector.markSplits(&findings)
        findings.sort {
            ($0.target.pod.namespace, $0.target.pod.name, $0.target.container) < ($1.target.pod.namespace, $1.target.pod.name, $1.target.container)
        }
        return findings
    }

    /// Owners are read only for pods that need an action.
    private func plan(_ findings: [Finding]) async -> SweepPlan {
        let stalePods = Array(Set(findings.filter { $0.judgement.verdict.isStale }.map(\.target.pod)))
        let owners = await OwnerDirectory.load(for: stalePods, from: cluster, concurrency: configuration.kubeConcurrency)
        return ActionPlanner(action: configuration.policy.action).plan(findings, owners: owners)
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
        for warning in report.warnings { logger.warning("\(warning)") }
        logger.info("\(report.summary)")
    }
}

/// What a pod's credential scope depends on.
private struct ScopeSource: Hashable {
    var namespace: String
    var serviceAccount: String
    var pullSecrets: [String]
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
