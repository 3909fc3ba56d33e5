import Foundation

/// One entry of an index: a platform's manifest digest (what a node pulling the index for its own
/// platform records) and the platform it is for.
public struct PlatformManifest: Sendable, Equatable, Encodable, CustomStringConvertible {
    public let digest: String
    public let mediaType: String?
    public let os: String?
    public let architecture: String?
    public let variant: String?

    public init(digest: String, mediaType: String? = nil, os: String? = nil, architecture: String? = nil, variant: String? = nil) {
        self.digest = digest
        self.mediaType = mediaType
        self.os = os
        self.architecture = architecture
        self.variant = variant
    }

    /// `linux/arm64/v8`; `unknown/unknown` for attestation manifests (BuildKit writes them so).
    public var platform: String {
        [os ?? "unknown", architecture ?? "unknown"].joined(separator: "/") + (variant.map { "/" + $0 } ?? "")
    }

    public var description: String { "\(platform) \(digest)" }

    /// Whether this entry serves `wanted` (`os/arch[/variant]`), as `crane --platform` decides: a
    /// wanted variant must match; none wanted matches any.
    public func satisfies(_ wanted: PlatformSpec) -> Bool {
        os == wanted.os && architecture == wanted.architecture && (wanted.variant == nil || variant == wanted.variant)
    }
}

/// `os/arch[/variant]` as `--platform` takes it.
public struct PlatformSpec: Sendable, Equatable, CustomStringConvertible {
    public let os: String
    public let architecture: String
    public let variant: String?

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (2...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && !$0.contains(" ") }) else { return nil }
        os = parts[0]
        architecture = parts[1]
        variant = parts.count == 3 ? parts[2] : nil
    }

    public var description: String { "\(os)/\(architecture)" + (variant.map { "/" + $0 } ?? "") }
}

extension ManifestDocument {
    /// The entries of an index with their platforms; [] for a single-platform manifest.
    static func platformManifests(of body: [UInt8], mediaType: String?) throws(ManifestFailure) -> [PlatformManifest] {
        let digests = try childDigests(of: body, mediaType: mediaType)
        guard !digests.isEmpty,
            let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any],
            let entries = object["manifests"] as? [[String: Any]]
        else { return [] }
        return entries.compactMap { entry in
            guard let digest = entry["digest"] as? String else { return nil }
            let platform = entry["platform"] as? [String: Any]
            return PlatformManifest(
                digest: digest, mediaType: entry["mediaType"] as? String, os: platform?["os"] as? String,
                architecture: platform?["architecture"] as? String, variant: platform?["variant"] as? String)
        }
    }
}
