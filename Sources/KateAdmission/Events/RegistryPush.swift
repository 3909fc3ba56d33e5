import Foundation
import KateRegistry

/// One tag a registry says was pushed, in kate's canonical reference form
/// (`docker.io/library/nginx:1.27`, `127.0.0.1:5000/kate/demo:v1`), whatever the payload format.
public struct RegistryPush: Sendable, Equatable, CustomStringConvertible {
    /// The payload format that carried it (`distribution`, `dockerhub`, …; a metric label).
    public var format: String
    public var reference: ImageReference
    /// The digest the registry says the tag now names, when the payload carries a well-formed one
    /// (kate resolves the tag itself either way: a payload is a hint, the registry is the truth).
    public var digest: String?
    /// The sender's event id, when the format has one (replays of one id are answered, not re-run).
    public var eventID: String?

    public init(format: String, reference: ImageReference, digest: String?, eventID: String?) {
        self.format = format
        self.reference = reference
        self.digest = digest
        self.eventID = eventID
    }

    public var description: String { "\(reference)" + (digest.map { " (\($0))" } ?? "") }

    /// Builds a push from the pieces payloads carry: the registry host (nil for Docker Hub, whose
    /// payload names none), the repository path and the tag.
    /// - Throws: `RegistryEventError` when they do not form an image reference with a tag.
    static func make(
        format: String, host: String?, repository: String, tag: String, digest: String?, eventID: String?
    ) throws(RegistryEventError) -> RegistryPush {
        guard !tag.isEmpty else { throw RegistryEventError.unusable("\(repository) names no tag") }
        // Harbor reports a push by digest with the digest as "tag": nothing tracks that.
        guard !tag.hasPrefix("sha256:") else { throw RegistryEventError.unusable("\(repository)@\(tag) was pushed by digest, not by tag") }
        let path = repository.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        let text = canonicalHost(host).map { "\($0)/\(path):\(tag)" } ?? "\(path):\(tag)"
        let reference: ImageReference
        do {
            reference = try ImageReference.parse(text)
        } catch {
            throw RegistryEventError.unusable("\(text) is not an image reference: \(error)")
        }
        guard reference.tag != nil else { throw RegistryEventError.unusable("\(text) names no tag") }
        return RegistryPush(format: format, reference: reference, digest: digest.flatMap(validDigest), eventID: eventID?.isEmpty == true ? nil : eventID)
    }

    /// Registry hosts as kate writes them in references: Docker Hub's API and legacy hosts are `docker.io`.
    static func canonicalHost(_ host: String?) -> String? {
        guard let host = host?.lowercased(), !host.isEmpty else { return nil }
        switch host {
        case "docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com", "hub.docker.com": return ImageReference.dockerHub
        default: return host
        }
    }

    /// `sha256:` and 64 lowercase hex digits, else nil (documentation samples carry shortened or masked digests).
    static func validDigest(_ text: String) -> String? {
        guard text.hasPrefix("sha256:") else { return nil }
        let hex = text.utf8.dropFirst(7)
        guard hex.count == 64, hex.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else { return nil }
        return text
    }
}

/// Why a request body is not a push kate can act on: answered 400 with this text.
public enum RegistryEventError: Error, Equatable, CustomStringConvertible {
    /// Not JSON, or JSON no format kate knows.
    case unknownPayload(String)
    /// A format kate knows, with a field missing or of the wrong type.
    case malformed(format: String, String)
    /// One push entry that cannot become an image reference (recorded, the others still count).
    case unusable(String)

    public var description: String {
        switch self {
        case .unknownPayload(let reason): return reason
        case .malformed(let format, let reason): return "\(format) payload: \(reason)"
        case .unusable(let reason): return reason
        }
    }
}
