/// Why a cluster configuration could not be built. `description` names the file, context and
/// field involved so the user knows what to edit.
public struct KubeConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// No kubeconfig file exists (none given, KUBECONFIG lists none that exist, no ~/.kube/config).
        case noConfiguration
        case fileUnreadable
        case invalidYAML
        /// No context named / no current-context set.
        case noContext
        case unknownContext
        case unknownCluster
        case unknownUser
        case missingField
        case invalidField
        /// The user uses something kate cannot do (legacy `auth-provider`).
        case unsupported
        /// `KUBERNETES_SERVICE_HOST`/`_PORT` unset, or the service-account files missing.
        case notInCluster
    }

    public let kind: Kind
    public let message: String
    public let file: String?
    public let context: String?
    public let field: String?

    public init(_ kind: Kind, _ message: String, file: String? = nil, context: String? = nil, field: String? = nil) {
        self.kind = kind
        self.message = message
        self.file = file
        self.context = context
        self.field = field
    }

    public var description: String {
        var location: [String] = []
        if let file { location.append("kubeconfig \(file)") }
        if let context { location.append("context \"\(context)\"") }
        if let field { location.append("field \(field)") }
        return location.isEmpty ? message : "\(message) (\(location.joined(separator: ", ")))"
    }
}
