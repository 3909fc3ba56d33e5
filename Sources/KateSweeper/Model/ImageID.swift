import Foundation
import KateRegistry

/// What the node says a container runs, read from `status.containerStatuses[].imageID`.
///
/// Runtimes disagree on the form (protocols.md §2.1):
/// - containerd, CRI-O: `docker.io/library/nginx@sha256:…` (repo digest, fully qualified)
/// - dockershim / cri-dockerd: `docker-pullable://nginx@sha256:…` (familiar repo name)
/// - images without a repo digest: `docker://sha256:…` or a bare `sha256:…`, which is the image
///   CONFIG digest — a different object from any manifest digest, so it can never be compared.
public enum RunningImage: Sendable, Hashable {
    /// A registry manifest digest, and the repository the runtime pulled it from (as written there).
    case digest(repository: String, digest: String)
    /// Nothing comparable; `reason` says why, for the report.
    case unknown(reason: String)

    public var digest: String? {
        if case .digest(_, let digest) = self { return digest }
        return nil
    }
}

public enum ImageID {
    /// Prefixes dockershim adds; they name the runtime, not the image.
    private static let runtimePrefixes = ["docker-pullable://", "docker://"]

    /// Parses an `imageID` value; never throws, since a form we do not know is simply not comparable.
    public static func parse(_ raw: String?) -> RunningImage {
        guard var value = raw?.trimmingCharacters(in: .whitespaces), !value.isEmpty else {
            return .unknown(reason: "the node has not reported an imageID yet")
        }
        for prefix in runtimePrefixes where value.hasPrefix(prefix) {
            value.removeFirst(prefix.count)
            break
        }
        guard let at = value.lastIndex(of: "@") else {
            if Digest.isSHA256(value) {
                return .unknown(reason: "imageID \(ImageDigest.short(value)) is an image config ID, not a registry digest")
            }
            return .unknown(reason: "unrecognised imageID \"\(raw ?? "")\"")
        }
        let repository = String(value[..<at])
        let digest = String(value[value.index(after: at)...])
        guard Digest.isSHA256(digest) else {
            return .unknown(reason: "imageID \"\(raw ?? "")\" carries no sha256 digest")
        }
        guard !repository.isEmpty, !repository.contains(where: \.isWhitespace) else {
            return .unknown(reason: "imageID \"\(raw ?? "")\" names no repository")
        }
        return .digest(repository: repository, digest: digest)
    }
}
