import Foundation

// The workload kinds the sweeper walks from a Pod's controller reference, decoding only what
// it reads. Writes never re-encode these: they are patches.

/// `spec.template` of a workload: the Pod template whose metadata the rollout-restart annotation lands in.
public struct PodTemplateSpec: Codable, Sendable, Equatable {
    public var metadata: ObjectMeta?
    public var spec: PodSpec?

    public init(metadata: ObjectMeta? = nil, spec: PodSpec? = nil) {
        self.metadata = metadata
        self.spec = spec
    }
}

/// `metav1.LabelSelector` (matchLabels only is enough for kate's reporting).
public struct LabelSelector: Codable, Sendable, Equatable {
    public var matchLabels: [String: String]?
    public init(matchLabels: [String: String]? = nil) { self.matchLabels = matchLabels }
}

/// A condition as every apps/v1 status reports it.
public struct WorkloadCondition: Codable, Sendable, Equatable {
    public var type: String
    public var status: String
    public var reason: String?
    public var message: String?
    public var lastUpdateTime: String?
    public var lastTransitionTime: String?
}

public struct ReplicaSet: Codable, Sendable, Equatable {
    public struct Spec: Codable, Sendable, Equatable {
        public var replicas: Int?
        public var selector: LabelSelector?
        public var template: PodTemplateSpec?
    }
    public struct Status: Codable, Sendable, Equatable {
        public var replicas: Int?
        public var readyReplicas: Int?
        public var availableReplicas: Int?
        public var observedGeneration: Int64?
    }
    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: Status?
}

public struct Deployment: Codable, Sendable, Equatable {
    public struct Strategy: Codable, Sendable, Equatable {
        /// `RollingUpdate` (default) or `Recreate`.
        public var type: String?
    }
    public struct Spec: Codable, Sendable, Equatable {
        /// `kubectl rollout restart` refuses a paused Deployment; so does kate.
        public var paused: Bool?
        public var replicas: Int?
        public var selector: LabelSelector?
        public var template: PodTemplateSpec?
        public var strategy: Strategy?
    }
    public struct Status: Codable, Sendable, Equatable {
        public var observedGeneration: Int64?
        public var replicas: Int?
        public var updatedReplicas: Int?
        public var readyReplicas: Int?
        public var availableReplicas: Int?
        public var unavailableReplicas: Int?
        public var conditions: [WorkloadCondition]?
    }
    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: Status?

    public var isPaused: Bool { spec?.paused ?? false }

    /// True when the controller has seen the latest spec and every replica runs the new template.
    public var isRolloutComplete: Bool {
        guard let status else { return false }
        let wanted = spec?.replicas ?? 1
        return (status.observedGeneration ?? 0) >= (metadata.generation ?? 0)
            && (status.updatedReplicas ?? 0) >= wanted
            && (status.replicas ?? 0) == (status.updatedReplicas ?? 0)
            && (status.availableReplicas ?? 0) >= wanted
    }
}

public struct StatefulSet: Codable, Sendable, Equatable {
    public struct UpdateStrategy: Codable, Sendable, Equatable {
        /// `RollingUpdate` (default) or `OnDelete`: with OnDelete a restart annotation changes nothing
        /// until pods are deleted, which the sweeper must know.
        public var type: String?
    }
    public struct Spec: Codable, Sendable, Equatable {
        public var replicas: Int?
        public var serviceName: String?
        public var selector: LabelSelector?
        public var template: PodTemplateSpec?
        public var updateStrategy: UpdateStrategy?
    }
    public struct Status: Codable, Sendable, Equatable {
        public var observedGeneration: Int64?
        public var replicas: Int?
        public var readyReplicas: Int?
        public var currentReplicas: Int?
        public var updatedReplicas: Int?
        public var availableReplicas: Int?
        public var currentRevision: String?
        public var updateRevision: String?
    }
    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: Status?
}

public struct DaemonSet: Codable, Sendable, Equatable {
    public struct UpdateStrategy: Codable, Sendable, Equatable {
        /// `RollingUpdate` (default) or `OnDelete`.
        public var type: String?
    }
    public struct Spec: Codable, Sendable, Equatable {
        public var selector: LabelSelector?
        public var template: PodTemplateSpec?
        public var updateStrategy: UpdateStrategy?
    }
    public struct Status: Codable, Sendable, Equatable {
        public var observedGeneration: Int64?
        public var desiredNumberScheduled: Int?
        public var currentNumberScheduled: Int?
        public var updatedNumberScheduled: Int?
        public var numberReady: Int?
        public var numberAvailable: Int?
        public var numberUnavailable: Int?
    }
    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: Status?
}

/// A Job: kate only follows its controller reference to a CronJob (a Job's pods are never restarted).
public struct Job: Codable, Sendable, Equatable {
    public var metadata: ObjectMeta
    /// The CronJob that created this Job, if any.
    public var cronJob: OwnerReference? {
        guard let owner = metadata.controller, owner.kind == "CronJob" else { return nil }
        return owner
    }
}
