/// Why a lookup failed, in the seven words kate uses everywhere a failure shows: the resolve CLI,
/// the webhook's warnings, the sweeper's verdict reasons, logs and the `class` label of metrics.
/// Each class has one kind of fix, so a dashboard grouped by class also says who has to act.
public enum FailureClass: String, Sendable, Hashable, CaseIterable, CustomStringConvertible, Encodable {
    /// No credential, or one the registry or its token endpoint refused (401).
    case auth
    /// A credential was accepted but lacks pull access to this repository (403, insufficient_scope).
    case authz
    /// The tag or repository does not exist (404).
    case absent
    /// No usable answer: network, DNS, TLS, 5xx, an invalid response, the circuit open.
    case unavailable
    /// The registry answered 429.
    case ratelimited
    /// The image reference itself does not parse.
    case badReference = "bad-reference"
    /// No answer before the deadline.
    case timeout

    public var description: String { rawValue }

    /// Goes away by itself (worth a retry, a last-known digest): the registry is slow, down or throttling.
    public var isTransient: Bool {
        switch self {
        case .unavailable, .ratelimited, .timeout: true
        case .auth, .authz, .absent, .badReference: false
        }
    }

    /// A credential problem: the pod's pull secrets are worth naming next to it.
    public var isCredentialProblem: Bool { self == .auth || self == .authz }

    /// The class of any error a lookup can end with: `RegistryError`'s own, a reference that does
    /// not parse, a cancelled or timed-out wait; anything else means the registry was not reached.
    public init(_ error: any Error) {
        switch error {
        case let error as RegistryError: self = error.failureClass
        case is ImageReferenceError: self = .badReference
        case is CancellationError, is SingleFlightWaitTimedOut: self = .timeout
        default: self = .unavailable
        }
    }

    /// The class of one HTTP answer (`kate_registry_requests_total{class}`): nil for a success or a
    /// redirect; `error` (no answer) is `unavailable`.
    static func of(code: String) -> FailureClass? {
        guard let status = Int(code) else { return .unavailable }
        switch status {
        case 200..<400: return nil
        case 401: return .auth
        case 403: return .authz
        case 404: return .absent
        case 408: return .timeout
        case 429: return .ratelimited
        default: return .unavailable
        }
    }
}
