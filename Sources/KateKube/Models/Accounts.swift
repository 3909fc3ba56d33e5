import Foundation

/// A ServiceAccount: admission reads its `imagePullSecrets` when a Pod names none.
public struct ServiceAccount: Codable, Sendable, Equatable {
    public var metadata: ObjectMeta
    public var imagePullSecrets: [LocalObjectReference]?

    public init(metadata: ObjectMeta, imagePullSecrets: [LocalObjectReference]? = nil) {
        self.metadata = metadata
        self.imagePullSecrets = imagePullSecrets
    }
}

/// A Secret. `data` values stay base64 exactly as the API returns them; `decodedData` decodes on demand.
public struct Secret: Codable, Sendable, Equatable {
    public var metadata: ObjectMeta
    /// `kubernetes.io/dockerconfigjson`, `kubernetes.io/dockercfg`, `Opaque`, …
    public var type: String?
    public var data: [String: String]?

    public init(metadata: ObjectMeta, type: String? = nil, data: [String: String]? = nil) {
        self.metadata = metadata
        self.type = type
        self.data = data
    }

    /// The bytes of `data[key]`, or nil when the key is absent or not valid base64.
    public func decodedData(_ key: String) -> [UInt8]? {
        guard let value = data?[key], let bytes = Data(base64Encoded: value) else { return nil }
        return Array(bytes)
    }
}

/// A Namespace: kate reads its labels (`kate.dev/skip=true` opts a namespace out).
public struct Namespace: Codable, Sendable, Equatable {
    public var metadata: ObjectMeta
    public init(metadata: ObjectMeta) { self.metadata = metadata }
}
