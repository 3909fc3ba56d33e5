import KateKube

/// The workloads behind the stale pods, fetched once per sweep: first the pods' controllers, then
/// their controllers (ReplicaSet → Deployment), each level in parallel.
public struct OwnerDirectory: Sendable {
    /// nil value: the workload does not exist (deleted mid-sweep).
    public private(set) var workloads: [WorkloadReference: WorkloadState?] = [:]
    /// Lookups that failed, with the error text (reported on the affected pods).
    public private(set) var failures: [WorkloadReference: String] = [:]

    public init(workloads: [WorkloadReference: WorkloadState?] = [:], failures: [WorkloadReference: String] = [:]) {
        self.workloads = workloads
        self.failures = failures
    }

    public static func load(for pods: [PodIdentity], from cluster: any ClusterReading, concurrency: Int) async -> OwnerDirectory {
        var directory = OwnerDirectory()
        let first = Set(pods.compactMap { reference(for: $0.controller, namespace: $0.namespace) })
        await directory.fetch(first, from: cluster, concurrency: concurrency)
        let second = Set(first.compactMap { ref -> WorkloadReference? in
            guard ref.kind == .replicaSet, case .some(.some(let state)) = directory.workloads[ref] else { return nil }
            return reference(for: state.controller, namespace: ref.namespace)
        })
        await directory.fetch(second, from: cluster, concurrency: concurrency)
        return directory
    }

    /// The workload an owner reference names, if it is a kind the sweeper knows (apps/v1, batch/v1, Argo Rollouts).
    public static func reference(for owner: OwnerReference?, namespace: String) -> WorkloadReference? {
        guard let owner, let kind = OwnerKind(rawValue: owner.kind) else { return nil }
        let group = owner.apiVersion.split(separator: "/").first.map(String.init) ?? ""
        guard group == kind.group else { return nil }
        return WorkloadReference(kind: kind, namespace: namespace, name: owner.name)
    }

    public func state(_ reference: WorkloadReference) -> WorkloadState? {
        workloads[reference] ?? nil
    }

    private mutating func fetch(_ references: Set<WorkloadReference>, from cluster: any ClusterReading, concurrency: Int) async {
        // Job and CronJob pods are only reported; their objects are not needed.
        let wanted = references.filter { $0.kind != .job && $0.kind != .cronJob }.sorted { $0.description < $1.description }
        let results = await BoundedParallel.map(wanted, concurrency: concurrency) { reference in
            // Await into a local before building the tuple: see scripts/lint/async-tuples.py (a Swift 6.3.1
            // -O miscompile returned garbage references here and crashed the release sweeper).
            do {
                let state = try await cluster.workload(reference)
                return (reference, Result<WorkloadState?, any Error>.success(state))
            } catch {
                return (reference, Result<WorkloadState?, any Error>.failure(error))
            }
        }
        for (reference, result) in results {
            switch result {
            case .success(let state): workloads[reference] = .some(state)
            case .failure(let error): failures[reference] = "cannot read \(reference): \(error)"
            }
        }
    }
}
