import Foundation

/// One `metadata.managedFields` entry: which field manager last set which fields, and how.
public struct ManagedFieldsEntry: Codable, Sendable, Equatable {
    public var manager: String?
    /// `Update` (POST/PUT/PATCH) or `Apply` (server-side apply).
    public var operation: String?
    public var apiVersion: String?
    /// When the manager's set last changed (RFC 3339, whole seconds).
    public var time: String?
    /// `status` for writes through the status subresource.
    public var subresource: String?
    public var fieldsV1: FieldsV1?

    public init(manager: String?, operation: String?, apiVersion: String? = nil, time: String? = nil, subresource: String? = nil, fieldsV1: FieldsV1? = nil) {
        self.manager = manager
        self.operation = operation
        self.apiVersion = apiVersion
        self.time = time
        self.subresource = subresource
        self.fieldsV1 = fieldsV1
    }

    /// Whether the entry owns the field at `path` (`["f:spec", "f:template", …]`), or something below it.
    public func owns(_ path: [String]) -> Bool {
        var node = fieldsV1
        for key in path {
            guard let next = node?.children[key] else { return false }
            node = next
        }
        return node != nil
    }

    /// `time` as a date (nil when absent or malformed).
    public var date: Date? { time.flatMap(RFC3339.parse) }
}

/// The `FieldsV1` trie: `f:<field>`, `k:{…}` (list element by key), `v:…` (set member) and `.` (the node itself).
public struct FieldsV1: Codable, Sendable, Equatable {
    public var children: [String: FieldsV1]

    public init(_ children: [String: FieldsV1] = [:]) { self.children = children }

    public init(from decoder: any Decoder) throws {
        children = try decoder.singleValueContainer().decode([String: FieldsV1].self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(children)
    }
}

/// An object decoded twice from one answer: as `Object` (which skips `managedFields`, as every pod
/// decode must at 100,000 pods) and for its `metadata.managedFields`, read only where kate needs them.
public struct WithManagedFields<Object: Decodable & Sendable>: Decodable, Sendable {
    public var object: Object
    public var managedFields: [ManagedFieldsEntry]

    public init(object: Object, managedFields: [ManagedFieldsEntry]) {
        self.object = object
        self.managedFields = managedFields
    }

    private enum Keys: String, CodingKey { case metadata }
    private struct Meta: Decodable { var managedFields: [ManagedFieldsEntry]? }

    public init(from decoder: any Decoder) throws {
        object = try Object(from: decoder)
        managedFields = try decoder.container(keyedBy: Keys.self).decodeIfPresent(Meta.self, forKey: .metadata)?.managedFields ?? []
    }
}
