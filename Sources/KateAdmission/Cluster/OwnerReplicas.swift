import KateKube
import KateNet
import KateRegistry
import Logging
import Synchronization

/// How many pods an owner wants, for the loop breaker's second signature.
public enum OwnerReplicaCount: Sendable, Equatable {
    case replicas(Int)
    /// Not knowable (no scale subresource, 403, not found, API down): signature 2 then does not trip. The reason is
    /// for the debug line.
    case unknown(String)
}

/// Reads an owner's replica count; `KubeOwnerReplicaReader` asks the API, tests substitute fakes.
public protocol OwnerReplicaReading: Sendable {
    func replicaCount(of owner: OwnerReference, namespace: String) async -> OwnerReplicaCount
}

/// Owner replica counts for the loop breaker, asked only for owners whose CREATEs passed the floor: answers cached
/// (`timeToLive`, unknown ones `unknownTTL`), one read in flight per owner, and never waited on past the review's
/// deadline or `maxWait`. A read that is not ready keeps running and serves the next review; this one is decided
/// without it (signature 2 does not trip on an unknown count).
///
/// The answer is the largest count seen within `peakWindow` (the breaker's window): an owner scaled 500 → 3 after
/// creating 500 pods is judged against the 500 it had, not the 3 it has now.
public final class OwnerReplicas: Sendable {
    private let reader: any OwnerReplicaReading
    private let timeToLive: Duration
    private let unknownTTL: Duration
    private let maxWait: Duration
    private let answers: ExpiringCache<Key, OwnerReplicaCount>
    private let peaks: ExpiringCache<Key, Int>
    /// Owners whose unknown count was logged (debug, once per owner).
    private let logged: ExpiringCache<Key, Bool>
    private let flights = Mutex<[Key: ReplicaFlight]>([:])

    struct Key: Hashable, Sendable {
        var namespace: String
        var apiVersion: String
        var kind: String
        var name: String
        var uid: String
    }

    public init(
        reader: any OwnerReplicaReading, timeToLive: Duration = .seconds(60), unknownTTL: Duration = .seconds(600),
        peakWindow: Duration = .seconds(600), maxWait: Duration = .seconds(1), capacity: Int = 4096
    ) {
        self.reader = reader
        self.timeToLive = timeToLive
        self.unknownTTL = unknownTTL
        self.maxWait = maxWait
        answers = ExpiringCache(capacity: capacity, timeToLive: timeToLive)
        peaks = ExpiringCache(capacity: capacity, timeToLive: peakWindow)
        logged = ExpiringCache(capacity: capacity, timeToLive: .seconds(86_400))
    }

    /// The replicas `owner` wants, or nil when unknown or not read in time (before `deadline` and within `maxWait`).
    public func replicas(of owner: OwnerReference, namespace: String, deadline: ContinuousClock.Instant, logger: Logger) async -> Int? {
        let key = Key(namespace: namespace, apiVersion: owner.apiVersion, kind: owner.kind, name: owner.name, uid: owner.uid)
        if let cached = answers.value(for: key) { return answer(cached, key: key) }
        let (flight, isNew) = flights.withLock { flights in
            if let running = flights[key] { return (running, false) }
            let started = ReplicaFlight()
            flights[key] = started
            return (started, true)
        }
        // Not a child of this review: the read outlives a review that stops waiting, and its answer serves the next.
        if isNew { Task { flight.finish(await self.read(owner, namespace: namespace, key: key, logger: logger)) } }
        // `Task.value` ignores cancellation, so waiting on it would hold the deadline race open until the read ends.
        let waited: OwnerReplicaCount?? = await withDeadline(min(deadline, .now + maxWait)) { await flight.wait() }
        guard let answered = waited ?? nil else {
            logger.debug("owner replica count not read in time; deciding without it", metadata: ["owner": "\(owner.kind)/\(owner.name)"])
            return nil
        }
        return answer(answered, key: key)
    }

    private func answer(_ count: OwnerReplicaCount, key: Key) -> Int? {
        guard case .replicas(let replicas) = count else { return nil }
        return max(replicas, peaks.value(for: key) ?? replicas)
    }

    /// One read; its answer is cached whoever is still waiting for it.
    private func read(_ owner: OwnerReference, namespace: String, key: Key, logger: Logger) async -> OwnerReplicaCount {
        let count = await reader.replicaCount(of: owner, namespace: namespace)
        switch count {
        case .replicas(let replicas):
            answers.set(count, for: key)
            peaks.set(max(replicas, peaks.value(for: key) ?? 0), for: key)
        case .unknown(let reason):
            answers.set(count, for: key, ttl: unknownTTL)
            if logged.value(for: key) == nil {
                logged.set(true, for: key)
                logger.debug(
                    "mutation-loop breaker: no replica count for this owner, so only the same-pod signature applies to it",
                    metadata: ["namespace": "\(namespace)", "owner": "\(owner.kind)/\(owner.name)", "reason": "\(reason)"])
            }
        }
        _ = flights.withLock { $0.removeValue(forKey: key) }
        return count
    }
}

/// Replica counts through the Kubernetes API:
/// - the `scale` subresource (`spec.replicas`), the HPA's generic mechanism: ReplicaSet, StatefulSet,
///   ReplicationController, Deployment, and any custom resource whose CRD declares it (found through discovery of
///   the owner's group version, cached);
/// - DaemonSet: `status.desiredNumberScheduled`, the nodes it should run on (exact where the node count is only an
///   upper bound: a DaemonSet with a nodeSelector runs on some nodes);
/// - Job: `completions` (else `parallelism`) + `backoffLimit`: a Job's pods run to completion and are replaced, so
///   parallelism alone does not bound its CREATEs; these do.
///
/// RBAC: `get` on `<resource>/scale`, `daemonsets` and `jobs`; discovery needs none (`system:discovery`).
public final class KubeOwnerReplicaReader: OwnerReplicaReading {
    private let client: KubeClient
    /// groupVersion → its resources, or why discovery failed.
    private let discovery = ExpiringCache<String, Discovered>(capacity: 256, timeToLive: .seconds(600))

    enum Discovered: Sendable {
        case resources([APIResourceList.Resource])
        case failed(String)
    }

    /// How a kind's replica count is read.
    enum Route: Equatable {
        case scale(ResourcePath)
        case daemonSet
        case job
    }

    public init(client: KubeClient) {
        self.client = client
    }

    public func replicaCount(of owner: OwnerReference, namespace: String) async -> OwnerReplicaCount {
        let (group, version) = Self.split(owner.apiVersion)
        do {
            guard let route = try await route(group: group, version: version, kind: owner.kind) else {
                return .unknown("\(owner.kind).\(group.isEmpty ? "core" : group) has no scale subresource")
            }
            switch route {
            case .scale(let resource):
                let scale = try await client.getScale(resource, namespace: namespace, name: owner.name)
                return scale.spec?.replicas.map(OwnerReplicaCount.replicas) ?? .unknown("scale has no spec.replicas")
            case .daemonSet:
                let daemonSet = try await client.getDaemonSet(namespace: namespace, name: owner.name)
                return daemonSet.status?.desiredNumberScheduled.map(OwnerReplicaCount.replicas) ?? .unknown("no status.desiredNumberScheduled yet")
            case .job:
                let job = try await client.getObject(JobCounts.self, ResourcePath(group: "batch", version: "v1", resource: "jobs"), namespace: namespace, name: owner.name)
                return .replicas(job.explainedPods)
            }
        } catch {
            return .unknown("\(error)")
        }
    }

    /// Built-in kinds by table; any other through discovery (nil: the kind has no scale subresource).
    func route(group: String, version: String, kind: String) async throws -> Route? {
        if let known = Self.builtIn(group: group, version: version, kind: kind) { return known }
        let groupVersion = group.isEmpty ? version : "\(group)/\(version)"
        let resources: [APIResourceList.Resource]
        switch discovery.value(for: groupVersion) {
        case .resources(let cached):
            resources = cached
        case .failed(let reason):
            throw DiscoveryFailure(description: reason)
        case nil:
            do {
                resources = try await client.getAPIResources(group: group, version: version).resources
                discovery.set(.resources(resources), for: groupVersion)
            } catch {
                discovery.set(.failed("discovery of \(groupVersion): \(error)"), for: groupVersion, ttl: .seconds(60))
                throw error
            }
        }
        return Self.scaleRoute(kind: kind, group: group, version: version, in: resources)
    }

    static func scaleRoute(kind: String, group: String, version: String, in resources: [APIResourceList.Resource]) -> Route? {
        guard let parent = resources.first(where: { $0.kind == kind && !$0.name.contains("/") }),
            resources.contains(where: { $0.name == parent.name + "/scale" })
        else { return nil }
        return .scale(ResourcePath(group: group, version: version, resource: parent.name))
    }

    static func builtIn(group: String, version: String, kind: String) -> Route? {
        switch (group, kind) {
        case ("apps", "ReplicaSet"): .scale(ResourcePath(group: group, version: version, resource: "replicasets"))
        case ("apps", "StatefulSet"): .scale(ResourcePath(group: group, version: version, resource: "statefulsets"))
        case ("apps", "Deployment"): .scale(ResourcePath(group: group, version: version, resource: "deployments"))
        case ("", "ReplicationController"): .scale(ResourcePath(group: group, version: version, resource: "replicationcontrollers"))
        case ("apps", "DaemonSet"): .daemonSet
        case ("batch", "Job"): .job
        default: nil
        }
    }

    /// `apps/v1` → ("apps", "v1"); `v1` → ("", "v1").
    static func split(_ apiVersion: String) -> (group: String, version: String) {
        guard let slash = apiVersion.lastIndex(of: "/") else { return ("", apiVersion) }
        return (String(apiVersion[..<slash]), String(apiVersion[apiVersion.index(after: slash)...]))
    }

    struct DiscoveryFailure: Error, CustomStringConvertible {
        var description: String
    }
}

/// The fields of a Job that bound how many pods it creates.
struct JobCounts: KubeObject {
    struct Spec: Decodable, Sendable {
        var parallelism: Int?
        var completions: Int?
        var backoffLimit: Int?
    }
    var metadata: ObjectMeta
    var spec: Spec?

    /// Pods a Job creates when it behaves: one per completion (or `parallelism` for a work queue), plus one per
    /// failure it may retry (`backoffLimit`, default 6).
    var explainedPods: Int {
        max(spec?.completions ?? 0, spec?.parallelism ?? 1) + (spec?.backoffLimit ?? 6)
    }
}

/// One replica read that several reviews may wait for; a waiter whose task is cancelled (its deadline passed) stops
/// waiting at once, the read goes on.
final class ReplicaFlight: Sendable {
    private struct State {
        var result: OwnerReplicaCount?
        var waiters: [Int: CheckedContinuation<OwnerReplicaCount?, Never>] = [:]
        var cancelled: Set<Int> = []
        var nextID = 0
    }
    private let state = Mutex(State())

    func finish(_ result: OwnerReplicaCount) {
        let waiters = state.withLock { state in
            state.result = result
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: result) }
    }

    /// The answer, or nil when the waiting task was cancelled first.
    func wait() async -> OwnerReplicaCount? {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<OwnerReplicaCount?, Never>) in
                let immediate: OwnerReplicaCount?? = state.withLock { state in
                    if let result = state.result { return .some(result) }
                    if state.cancelled.remove(id) != nil { return .some(nil) }
                    state.waiters[id] = continuation
                    return .none
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<OwnerReplicaCount?, Never>? in
                if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
                if state.result == nil { state.cancelled.insert(id) }
                return nil
            }
            waiter?.resume(returning: nil)
        }
    }
}
