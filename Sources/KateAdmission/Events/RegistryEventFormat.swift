import Foundation
import KateNet

/// One registry's push-notification payload. Each format lives in a file of its own; `detect`
/// picks the one whose shape the body has (formats do not say who they are in one common way).
protocol RegistryEventFormat: Sendable {
    /// Metric label and log name: `distribution`, `dockerhub`, `harbor`, `quay`, `github`, `acr`, `cloudevents`.
    static var name: String { get }
    /// True when `payload` has this format's shape (cheap: the keys that identify it).
    static func matches(_ payload: JSONObject) -> Bool
    /// The pushes in `payload` (none for an event that is not a push: a pull, a delete, a scan).
    static func pushes(in payload: JSONObject, request: HTTPRequest) throws(RegistryEventError) -> RegistryEvents
}

/// What one notification said: the pushes kate acts on, and the entries it passed over, with why.
public struct RegistryEvents: Sendable, Equatable {
    public var format: String
    public var pushes: [RegistryPush]
    /// Entries that were not tag pushes (`pull`, a blob, a push by digest, an empty tag), one reason each.
    public var ignored: [String]

    public init(format: String, pushes: [RegistryPush] = [], ignored: [String] = []) {
        self.format = format
        self.pushes = pushes
        self.ignored = ignored
    }

    /// Adds a push built by `make`, or its reason to `ignored` when it cannot be one.
    mutating func add(_ make: () throws(RegistryEventError) -> RegistryPush) {
        do {
            pushes.append(try make())
        } catch {
            ignored.append(error.description)
        }
    }
}

/// The formats kate reads, in the order `detect` tries them (the most specific shape first).
enum RegistryEventFormats {
    static let all: [any RegistryEventFormat.Type] = [
        CloudEventsEnvelope.self, DistributionNotifications.self, HarborEvents.self, GitHubPackageEvents.self,
        DockerHubEvents.self, QuayEvents.self, AzureContainerRegistryEvents.self,
    ]

    static var names: String { all.map { $0.name }.joined(separator: ", ") }

    /// The pushes in a request body, from whichever format it has.
    static func parse(_ request: HTTPRequest) throws(RegistryEventError) -> RegistryEvents {
        guard let payload = JSONObject(parsing: request.body) else {
            throw RegistryEventError.unknownPayload("the body is not a JSON object; expected a registry push notification (\(names))")
        }
        return try parse(payload, request: request, formats: all)
    }

    static func parse(_ payload: JSONObject, request: HTTPRequest, formats: [any RegistryEventFormat.Type]) throws(RegistryEventError) -> RegistryEvents {
        guard let format = formats.first(where: { $0.matches(payload) }) else {
            let keys = payload.keys.sorted().prefix(8).joined(separator: ", ")
            throw RegistryEventError.unknownPayload("a JSON object with keys [\(keys)] is no registry push notification kate knows (\(names))")
        }
        return try format.pushes(in: payload, request: request)
    }
}

/// A decoded JSON object with typed, path-based reads: payloads are read for a few fields and
/// everything else in them is ignored (registries add fields; that must not break kate).
struct JSONObject: @unchecked Sendable {
    // JSONSerialization's output: only Foundation value types, never mutated after parsing.
    let storage: [String: Any]

    init(_ storage: [String: Any]) { self.storage = storage }

    init?(parsing bytes: [UInt8]) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) as? [String: Any] else { return nil }
        self.storage = object
    }

    var keys: [String] { Array(storage.keys) }
    func has(_ key: String) -> Bool { storage[key] != nil && !(storage[key] is NSNull) }

    func object(_ key: String) -> JSONObject? { (storage[key] as? [String: Any]).map(JSONObject.init) }
    func objects(_ key: String) -> [JSONObject]? { (storage[key] as? [Any])?.compactMap { ($0 as? [String: Any]).map(JSONObject.init) } }
    func string(_ key: String) -> String? { storage[key] as? String }
    func strings(_ key: String) -> [String]? { (storage[key] as? [Any])?.compactMap { $0 as? String } }
    /// A number as text (`pushed_at` 1417566161), for replay keys.
    func numberText(_ key: String) -> String? { (storage[key] as? NSNumber).map { "\($0)" } }
}
