import Foundation

/// Any `*List` the API returns: `metadata` carries the pagination cursor.
public struct ObjectList<Item: Decodable & Sendable>: Decodable, Sendable {
    public var metadata: ListMeta
    public var items: [Item]

    private enum CodingKeys: String, CodingKey { case metadata, items }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        metadata = try container.decodeIfPresent(ListMeta.self, forKey: .metadata) ?? ListMeta()
        // The API writes `"items": null` for an empty list in some versions.
        items = try container.decodeIfPresent([Item].self, forKey: .items) ?? []
    }
}

/// `metav1.Status`: the body of every API error (and of some successful deletes).
public struct APIStatus: Codable, Sendable, Equatable {
    public struct Cause: Codable, Sendable, Equatable {
        public var reason: String?
        public var message: String?
        public var field: String?
    }
    public struct Details: Codable, Sendable, Equatable {
        public var name: String?
        public var group: String?
        public var kind: String?
        public var uid: String?
        public var causes: [Cause]?
        public var retryAfterSeconds: Int?
    }
    public var kind: String?
    public var apiVersion: String?
    /// "Success" or "Failure".
    public var status: String?
    public var message: String?
    /// Machine-readable: `NotFound`, `Forbidden`, `Conflict`, `Expired`, `TooManyRequests`, …
    public var reason: String?
    public var details: Details?
    public var code: Int?
}
