/// `spec.affinity`, as far as required node affinity goes.
public struct Affinity: Codable, Sendable, Equatable {
    public var nodeAffinity: NodeAffinity?
    public init(nodeAffinity: NodeAffinity? = nil) { self.nodeAffinity = nodeAffinity }

    public struct NodeAffinity: Codable, Sendable, Equatable {
        public var requiredDuringSchedulingIgnoredDuringExecution: NodeSelector?
        public init(required: NodeSelector? = nil) { requiredDuringSchedulingIgnoredDuringExecution = required }
    }

    /// Terms are ORed; a term's expressions are ANDed.
    public struct NodeSelector: Codable, Sendable, Equatable {
        public var nodeSelectorTerms: [Term]?
        public init(terms: [Term]) { nodeSelectorTerms = terms }
    }

    public struct Term: Codable, Sendable, Equatable {
        public var matchExpressions: [Requirement]?
        public init(matchExpressions: [Requirement]) { self.matchExpressions = matchExpressions }
    }

    public struct Requirement: Codable, Sendable, Equatable {
        public var key: String
        public var `operator`: String
        public var values: [String]?
        public init(key: String, operator: String, values: [String]? = nil) {
            self.key = key
            self.operator = `operator`
            self.values = values
        }
    }
}

/// The operating systems and architectures a pod's nodeSelector and required node affinity allow
/// (`kubernetes.io/os`, `kubernetes.io/arch`); nil in a field: not constrained.
public struct PlatformSelection: Sendable, Hashable {
    public var operatingSystems: Set<String>?
    public var architectures: Set<String>?

    public init(operatingSystems: Set<String>? = nil, architectures: Set<String>? = nil) {
        self.operatingSystems = operatingSystems
        self.architectures = architectures
    }

    /// The os/arch pairs a pod so constrained may need: with architectures named, each named one
    /// (on the named or else the nodes' operating systems); with only operating systems named,
    /// the nodes that run them.
    public func required(nodes: [(os: String, architecture: String)]) -> [(os: String, architecture: String)] {
        if let architectures {
            let systems = operatingSystems ?? Set(nodes.map(\.os)).union(nodes.isEmpty ? ["linux"] : [])
            return systems.sorted().flatMap { os in architectures.sorted().map { (os, $0) } }
        }
        guard let operatingSystems else { return nodes }
        return nodes.filter { operatingSystems.contains($0.os) }
    }
}

extension PodSpec {
    /// nil when neither the nodeSelector nor a required node affinity names an os or architecture.
    public var platformSelection: PlatformSelection? {
        let os = constraint(Node.osLabel)
        let arch = constraint(Node.archLabel)
        if os == nil, arch == nil { return nil }
        return PlatformSelection(operatingSystems: os, architectures: arch)
    }

    /// The values `label` may take: the nodeSelector's, narrowed by required affinity terms (the
    /// union of each term's `In` values; a term that does not constrain `label` allows anything).
    private func constraint(_ label: String) -> Set<String>? {
        var allowed: Set<String>? = nodeSelector?[label].map { [$0] }
        if let terms = affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms, !terms.isEmpty {
            var union: Set<String> = []
            var unconstrained = false
            for term in terms {
                let values = (term.matchExpressions ?? []).filter { $0.key == label && $0.operator == "In" }.map { Set($0.values ?? []) }
                guard let first = values.first else { unconstrained = true; break }
                union.formUnion(values.dropFirst().reduce(first) { $0.intersection($1) })
            }
            if !unconstrained { allowed = allowed.map { $0.intersection(union) } ?? union }
        }
        return allowed
    }
}
