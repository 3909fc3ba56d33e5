import Foundation

/// `coordination.k8s.io/v1` Lease, the lock of leader election. kate writes it whole with PUT, so
/// the model carries every spec field (`strategy` and `preferredHolder` included) so that an update
/// never drops what another client set.
public struct Lease: Codable, Sendable, Equatable, KubeObject {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: LeaseSpec?

    public init(metadata: ObjectMeta, spec: LeaseSpec) {
        self.apiVersion = "coordination.k8s.io/v1"
        self.kind = "Lease"
        self.metadata = metadata
        self.spec = spec
    }
}

public struct LeaseSpec: Codable, Sendable, Equatable {
    /// Empty or absent: nobody holds it (a released lease).
    public var holderIdentity: String?
    public var leaseDurationSeconds: Int?
    /// `metav1.MicroTime`: `2026-12-03T01:02:03.456789Z`.
    public var acquireTime: String?
    public var renewTime: String?
    public var leaseTransitions: Int?
    public var strategy: String?
    public var preferredHolder: String?

    public init(
        holderIdentity: String? = nil, leaseDurationSeconds: Int? = nil, acquireTime: String? = nil, renewTime: String? = nil,
        leaseTransitions: Int? = nil, strategy: String? = nil, preferredHolder: String? = nil
    ) {
        self.holderIdentity = holderIdentity
        self.leaseDurationSeconds = leaseDurationSeconds
        self.acquireTime = acquireTime
        self.renewTime = renewTime
        self.leaseTransitions = leaseTransitions
        self.strategy = strategy
        self.preferredHolder = preferredHolder
    }

    /// `renewTime` parsed (nil when absent or unreadable).
    public var renewDate: Date? { renewTime.flatMap(RFC3339.parse) }
    public var acquireDate: Date? { acquireTime.flatMap(RFC3339.parse) }
}
