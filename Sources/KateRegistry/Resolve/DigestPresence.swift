import Foundation
import KateNet

/// Whether a registry still holds a manifest by digest: what a node needs to pull a pinned image.
/// Only a 404 is `missing`: a 5xx, a timeout, a refused credential or an open circuit says nothing
/// about the digest and is `unknown` (callers report it and do not act on it).
public enum DigestPresence: Sendable, Equatable, CustomStringConvertible {
    case present
    /// The registry answered 404 (MANIFEST_UNKNOWN): a restart on a node without the image fails.
    case missing(String)
    /// No answer that settles it; why, for the report.
    case unknown(String)

    public var isMissing: Bool {
        if case .missing = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .present: "present"
        case .missing(let detail): "missing (\(detail))"
        case .unknown(let detail): "unknown (\(detail))"
        }
    }
}

extension Resolver {
    /// HEADs `reference`'s repository by `digest` with the Accept list and credentials a tag
    /// lookup uses (HEAD is free against Docker Hub's pull limit). Mirrors first, as a node pulls:
    /// any endpoint that has the manifest makes it `present`; it is `missing` only when the
    /// registry itself answers 404. A 405 (HEAD not allowed) falls back to GET.
    public func presence(
        of reference: ImageReference, digest: String, keyring: Keyring, deadline: ContinuousClock.Instant
    ) async -> DigestPresence {
        guard Digest.isSHA256(digest) else { return .unknown("\(digest) is not a sha256 digest") }
        let credentials = keyring.credentials(registry: reference.registry, repository: reference.repository)
        let mapping = ErrorMapping(reference: reference, keyring: keyring, credentials: credentials)
        let deadline = min(deadline, ContinuousClock.now + configuration.requestTimeout)
        var upstream = DigestPresence.unknown("no endpoint for \(reference.registry)")
        for endpoint in configuration.endpoints(for: reference.registry) {
            let creds = endpoint.isMirror ? keyring.credentials(registry: endpoint.host, repository: reference.repository) : credentials
            let answer = await presence(digest, repository: reference.repository, endpoint: endpoint, credentials: creds, deadline: deadline, mapping: mapping)
            if answer == .present { return .present }
            if !endpoint.isMirror { upstream = answer }
        }
        return upstream
    }

    private func presence(
        _ digest: String, repository: String, endpoint: RegistryEndpoint, credentials: [Credential], deadline: ContinuousClock.Instant,
        mapping: ErrorMapping
    ) async -> DigestPresence {
        let url = endpoint.manifestURL(repository: repository, reference: digest)
        do {
            var outcome = try await fetcher.exchange.send(
                method: "HEAD", url: url, endpoint: endpoint, repository: repository, credentials: credentials, deadline: deadline)
            if outcome.response.status == 405 {
                outcome = try await fetcher.exchange.send(
                    method: "GET", url: url, endpoint: endpoint, repository: repository, credentials: credentials, deadline: deadline)
            }
            let status = outcome.response.status
            switch status {
            case 200...299: return .present
            case 404:
                let code = ManifestDocument.errorCodes(of: outcome.response.body).first ?? "MANIFEST_UNKNOWN"
                return .missing("\(endpoint.host) answered 404 \(code) for \(repository)@\(digest)")
            default:
                return .unknown("\(mapping.map(ManifestFailure.status(outcome.response), host: endpoint.host))")
            }
        } catch {
            return .unknown("\(mapping.map(error, host: endpoint.host))")
        }
    }
}
