import Foundation
import KateContract
import KateKube
import KateRegistry
import Synchronization
@testable import KateSweeper

/// An in-memory cluster for unit tests of planning and acting; records every write.
final class InMemoryCluster: SweepCluster {
    struct State {
        var pods: [Pod] = []
        var workloads: [WorkloadReference: WorkloadState] = [:]
        var serviceAccounts: [String: [String]] = [:]
        var secrets: [String: PullSecretData] = [:]
        var blockedEvictions: Set<PodKey> = []
        var writes: [String] = []
        var events: [SweepEvent] = []
        var reads = 0
        var optedOutNamespaces: Set<String> = []
        var accountReads = 0
        var secretReads = 0
    }

    let state: Mutex<State>

    init(pods: [Pod] = [], workloads: [WorkloadState] = []) {
        var initial = State()
        initial.pods = pods
        for workload in workloads { initial.workloads[workload.reference] = workload }
        state = Mutex(initial)
    }

    var writes: [String] { state.withLock { $0.writes } }
    var events: [SweepEvent] { state.withLock { $0.events } }

    func listPods(namespace: String?, labelSelector: String?) async throws -> [Pod] {
        state.withLock { state in state.pods.filter { namespace == nil || $0.metadata.namespace == namespace } }
    }

    func optedOutNamespaces() async throws -> Set<String> {
        state.withLock { $0.optedOutNamespaces }
    }

    func workload(_ reference: WorkloadReference) async throws -> WorkloadState? {
        state.withLock { state in
            state.reads += 1
            return state.workloads[reference]
        }
    }

    /// nil for an account the test did not create: KateContract's "does not exist".
    func serviceAccountPullSecrets(namespace: String, name: String) async throws -> [String]? {
        state.withLock { state in
            state.accountReads += 1
            return state.serviceAccounts["\(namespace)/\(name)"]
        }
    }

    /// Parsed the way `KubeClient`'s conformance parses the API's secret.
    func pullSecretConfig(namespace: String, name: String) async throws -> DockerConfig? {
        let secret = state.withLock { state in
            state.secretReads += 1
            return state.secrets["\(namespace)/\(name)"]
        }
        return try secret.map { try DockerConfig.fromSecret(type: $0.type, data: $0.data) }
    }

    func rolloutRestart(_ workload: WorkloadReference, at: Date) async throws {
        state.withLock { state in
            state.writes.append("restart \(workload)")
            // What the API server does: a template change bumps generation; the controller lags.
            if var current = state.workloads[workload] {
                current.generation = (current.generation ?? 1) + 1
                state.workloads[workload] = current
            }
        }
    }

    func evict(namespace: String, pod: String) async throws -> EvictionOutcome {
        state.withLock { state in
            let key = PodKey(namespace: namespace, name: pod)
            if state.blockedEvictions.contains(key) {
                state.writes.append("evict \(key) (429)")
                return .blockedByDisruptionBudget("Cannot evict pod as it would violate the pod's disruption budget.")
            }
            state.writes.append("evict \(key)")
            return .evicted
        }
    }

    func deletePod(namespace: String, name: String, uid: String) async throws {
        state.withLock { $0.writes.append("delete \(namespace)/\(name) uid=\(uid)") }
    }

    func recordEvent(_ event: SweepEvent) async throws {
        state.withLock { $0.events.append(event) }
    }
}

/// Answers tags from a table; anything else fails like an unreachable registry. Counts lookups.
final class TableResolver: TagResolving {
    struct Entry {
        var digest: String
        var platforms: Set<String> = []
    }

    private let table: [String: Entry]
    private let failures: [String: String]
    let calls = Mutex<[String]>([])
    /// Credential labels each resolve was given, in call order.
    let keyrings = Mutex<[[String]]>([])

    init(_ table: [String: Entry], failures: [String: String] = [:]) {
        self.table = table
        self.failures = failures
    }

    func currentDigest(of reference: ImageReference, keyring: Keyring, deadline: ContinuousClock.Instant) async throws -> String {
        let key = "\(reference.canonicalName):\(reference.trackedTag)"
        calls.withLock { $0.append("resolve \(key)") }
        keyrings.withLock { $0.append(keyring.labels) }
        if let message = failures[key] { throw FakeRegistryError(message: message) }
        guard let entry = table[key] else { throw FakeRegistryError(message: "tag \(key) not found") }
        return entry.digest
    }

    func platformDigests(of reference: ImageReference, indexDigest: String, keyring: Keyring, deadline: ContinuousClock.Instant) async throws -> Set<String> {
        let key = "\(reference.canonicalName):\(reference.trackedTag)"
        calls.withLock { $0.append("platforms \(key)") }
        return table[key]?.platforms ?? []
    }
}

struct FakeRegistryError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// A pull secret's type and base64 data as the API holds them (what the fake cluster stores).
struct PullSecretData: Sendable, Equatable {
    var type: String
    var data: [String: String]
}
