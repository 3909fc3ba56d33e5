import Foundation
import KateNet

/// Tag → digest against one endpoint: HEAD first (free on Docker Hub), GET and hash the exact
/// body when HEAD fails or carries no `Docker-Content-Digest`.
struct ManifestFetcher: Sendable {
    let exchange: AuthorizedExchange

    struct Result: Sendable {
        let digest: String
        let mediaType: String?
        let body: [UInt8]?
        let credential: Credential?
    }

    func resolve(_ reference: String, repository: String, endpoint: RegistryEndpoint, credentials: [Credential], deadline: ContinuousClock.Instant) async throws -> Result {
        let url = endpoint.manifestURL(repository: repository, reference: reference)
        let head = try await exchange.send(method: "HEAD", url: url, endpoint: endpoint, repository: repository, credentials: credentials, deadline: deadline)
        let response = head.response
        if (200...299).contains(response.status), let digest = Self.validDigest(response.headers["Docker-Content-Digest"]) {
            return Result(digest: digest, mediaType: ManifestMediaType.strip(response.headers["Content-Type"]), body: nil, credential: head.credential)
        }
        // A GET now would count against the same exhausted quota.
        if response.status == 429 { throw ManifestFailure.status(response) }
        ResolutionTrace.record(.note("HEAD answered \(response.status)\((200...299).contains(response.status) ? " without a Docker-Content-Digest" : ""): GET the manifest and hash it"))
        // Everything else falls back to GET: no digest header (some registries omit it on HEAD),
        // HEAD not allowed, a failing HEAD — and 404, because HEAD has no body to say whether the
        // tag or the whole repository is missing; the GET's error code does.
        return try await fetch(reference, repository: repository, endpoint: endpoint, credentials: credentials, deadline: deadline)
    }

    /// GET a manifest and verify it: sha256 of the exact bytes, which must agree with the
    /// `Docker-Content-Digest` header if the registry sent one, and with `reference` if it is a digest.
    func fetch(_ reference: String, repository: String, endpoint: RegistryEndpoint, credentials: [Credential], deadline: ContinuousClock.Instant) async throws -> Result {
        let url = endpoint.manifestURL(repository: repository, reference: reference)
        let get = try await exchange.send(method: "GET", url: url, endpoint: endpoint, repository: repository, credentials: credentials, deadline: deadline)
        let response = get.response
        guard (200...299).contains(response.status) else { throw ManifestFailure.status(response) }
        let computed = Digest.sha256(response.body)
        if let header = response.headers["Docker-Content-Digest"], header.hasPrefix("sha256:"), header != computed {
            throw ManifestFailure.mismatch("manifest body hashes to \(computed) but Docker-Content-Digest says \(header)")
        }
        if reference.hasPrefix("sha256:"), reference != computed {
            throw ManifestFailure.mismatch("manifest fetched by digest \(reference) hashes to \(computed)")
        }
        let mediaType = ManifestMediaType.strip(response.headers["Content-Type"]).flatMap { $0 == "application/json" ? nil : $0 }
            ?? ManifestDocument.mediaType(of: response.body)
        ResolutionTrace.record(.note("manifest body (\(response.body.count) bytes) hashes to \(computed)"))
        return Result(digest: computed, mediaType: mediaType, body: response.body, credential: get.credential)
    }

    static func validDigest(_ header: String?) -> String? {
        guard let header = header?.trimmingCharacters(in: .whitespaces), Digest.isSHA256(header) else { return nil }
        return header
    }
}

/// A registry answer that is not a manifest.
enum ManifestFailure: Error, Sendable {
    case status(HTTPClientResponse)
    case mismatch(String)
}

/// The few manifest fields kate reads.
enum ManifestDocument {
    static func mediaType(of body: [UInt8]) -> String? {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else { return nil }
        if let mediaType = object["mediaType"] as? String { return mediaType }
        // OCI indexes may omit mediaType; a "manifests" array is what makes one an index.
        return object["manifests"] is [Any] ? ManifestMediaType.ociIndex : nil
    }

    /// Child manifest digests of an index or manifest list; [] for a single-platform manifest.
    /// - Throws: `ManifestFailure.mismatch` when the body cannot be read, or is an index (by
    ///   `mediaType` or its own) without a readable `manifests` list: read as [] it would pass for
    ///   a single-platform image and every node's platform digest would look like drift.
    static func childDigests(of body: [UInt8], mediaType: String?) throws(ManifestFailure) -> [String] {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else {
            throw .mismatch("manifest \(mediaType ?? "") is not a JSON object")
        }
        let declared = ManifestMediaType.isIndex(mediaType) ? mediaType : object["mediaType"] as? String
        guard let entries = object["manifests"] else {
            if ManifestMediaType.isIndex(declared) { throw .mismatch("index (\(declared ?? "")) has no \"manifests\" list") }
            return []
        }
        guard let manifests = entries as? [[String: Any]] else { throw .mismatch("index \"manifests\" is not a list of objects") }
        let digests = manifests.compactMap { $0["digest"] as? String }
        guard digests.count == manifests.count else { throw .mismatch("index entry without a \"digest\"") }
        return digests
    }

    /// Registry error codes from a body like `{"errors":[{"code":"MANIFEST_UNKNOWN",…}]}`.
    static func errorCodes(of body: [UInt8]) -> [String] {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any],
            let errors = object["errors"] as? [[String: Any]]
        else { return [] }
        return errors.compactMap { $0["code"] as? String }
    }
}
