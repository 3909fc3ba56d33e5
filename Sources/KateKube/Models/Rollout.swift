import Foundation

/// An Argo Rollouts `argoproj.io/v1alpha1` Rollout: a Deployment-like owner of ReplicaSets. kate
/// restarts it the way `kubectl argo rollouts restart` does, by setting `spec.restartAt`.
public struct Rollout: Codable, Sendable, Equatable {
    public struct Spec: Codable, Sendable, Equatable {
        public var replicas: Int?
        public var paused: Bool?
        public var selector: LabelSelector?
        public var template: PodTemplateSpec?
        /// RFC 3339: the controller replaces every pod created before it (without the canary steps).
        public var restartAt: String?
    }
    public struct Status: Codable, Sendable, Equatable {
        /// A string in Argo Rollouts' API (the generation's decimal number).
        public var observedGeneration: FlexibleInteger?
        public var replicas: Int?
        public var updatedReplicas: Int?
        public var readyReplicas: Int?
        /// When the controller last finished a restart.
        public var restartedAt: String?
    }
    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: Status?

    public var isPaused: Bool { spec?.paused ?? false }
}

/// An integer the API writes as a number or as a decimal string (Argo's `observedGeneration`).
public struct FlexibleInteger: Codable, Sendable, Equatable {
    public var value: Int64?

    public init(_ value: Int64?) { self.value = value }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Int64.self) {
            value = number
        } else {
            value = Int64(try container.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value.map(String.init) ?? "")
    }
}
