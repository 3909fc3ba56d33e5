import Foundation

/// What a tag pointed at when kate asked.
public struct ResolvedImage: Sendable, Equatable {
    /// `sha256:…`; for multi-arch images the index digest, which kubelet and containerd resolve too.
    public let digest: String
    /// The manifest's media type (`application/vnd.oci.image.index.v1+json`, …) when known.
    public let mediaType: String?
    /// When the registry answered (for cache hits and stale answers: the original answer time).
    public let resolvedAt: Date
    public let source: Source

    public enum Source: Sendable, Equatable {
        /// Asked the registry for this call.
        case registry
        /// A fresh cache entry.
        case cache
        /// The last known digest, served because the registry failed (stale-if-error).
        case stale
    }

    public init(digest: String, mediaType: String?, resolvedAt: Date, source: Source) {
        self.digest = digest
        self.mediaType = mediaType
        self.resolvedAt = resolvedAt
        self.source = source
    }

    func with(source: Source) -> ResolvedImage {
        ResolvedImage(digest: digest, mediaType: mediaType, resolvedAt: resolvedAt, source: source)
    }
}

/// Manifest media types kate asks for, in preference order. Listing the index types first is
/// what makes the registry answer with the multi-arch digest instead of one platform's.
public enum ManifestMediaType {
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"

    public static let accept = [ociIndex, dockerManifestList, ociManifest, dockerManifest].joined(separator: ", ")

    /// One of the four types kate asks for (a registry answering `application/json` or nothing
    /// says nothing about whether the manifest is an index).
    static func isKnown(_ mediaType: String) -> Bool {
        mediaType == ociIndex || mediaType == dockerManifestList || mediaType == ociManifest || mediaType == dockerManifest
    }

    public static func isIndex(_ mediaType: String?) -> Bool {
        mediaType == ociIndex || mediaType == dockerManifestList
    }

    /// `application/json; charset=utf-8` → `application/json` (the spec says to ignore parameters).
    static func strip(_ contentType: String?) -> String? {
        guard let contentType else { return nil }
        let base = contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        return base.isEmpty ? nil : base
    }
}
