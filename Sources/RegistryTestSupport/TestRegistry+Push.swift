import Foundation
import KateNet
import KateRegistry

/// Docker's push protocol from test code: blob upload (POST, then PUT with `?digest=`), manifest PUT.
extension TestRegistry {
    public struct PushError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Pushes a small real Docker schema2 image (one gzip layer, a config naming a fresh nonce, so
    /// every push has a new digest) and returns its manifest digest.
    @discardableResult
    public func push(repository: String, tag: String) async throws -> String {
        let manifest = try await imageManifest(repository: repository, os: "linux", architecture: "amd64", oci: false)
        return try await putManifest(repository: repository, reference: tag, mediaType: ManifestMediaType.dockerManifest, body: manifest)
    }

    /// Pushes one small OCI image per tag, sharing one layer and config; each manifest carries the
    /// tag as an annotation so every tag has its own digest. Cheap enough for hundreds of tags.
    public func pushMany(repository: String, tags: [String]) async throws -> [String: String] {
        let base = try JSONSerialization.jsonObject(with: Data(try await imageManifest(repository: repository, os: "linux", architecture: "amd64", oci: true)))
        guard var manifest = base as? [String: Any] else { throw PushError(description: "manifest is not an object") }
        var digests: [String: String] = [:]
        for tag in tags {
            manifest["annotations"] = ["dev.kate.test.tag": tag]
            let body = Array(try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys]))
            digests[tag] = try await putManifest(repository: repository, reference: tag, mediaType: ManifestMediaType.ociManifest, body: body)
        }
        return digests
    }

    /// Pushes an OCI image index with one OCI image per platform (`"linux/amd64"`), children by
    /// digest first, then the index under `tag`.
    public func pushIndex(repository: String, tag: String, platforms: [String] = ["linux/amd64", "linux/arm64"]) async throws -> (index: String, children: [String]) {
        try await pushList(repository: repository, tag: tag, platforms: platforms, oci: true)
    }

    /// The same with Docker's schema2 manifest list and schema2 children.
    public func pushManifestList(repository: String, tag: String, platforms: [String] = ["linux/amd64", "linux/arm64"]) async throws -> (index: String, children: [String]) {
        try await pushList(repository: repository, tag: tag, platforms: platforms, oci: false)
    }

    /// Deletes the manifest `tag` points at (distribution 2.8 has no tag-only delete; deleting the
    /// manifest removes every tag that points at it).
    public func deleteTag(repository: String, tag: String) async throws {
        let head = try await send("HEAD", "/v2/\(repository)/manifests/\(tag)", repository: repository, headers: [("Accept", ManifestMediaType.accept)])
        guard head.status == 200, let digest = head.headers["Docker-Content-Digest"] else {
            throw PushError(description: "HEAD \(repository):\(tag) answered \(head.status)")
        }
        let delete = try await send("DELETE", "/v2/\(repository)/manifests/\(digest)", repository: repository)
        guard delete.status == 202 else { throw PushError(description: "DELETE \(repository)@\(digest) answered \(delete.status)") }
    }

    private func pushList(repository: String, tag: String, platforms: [String], oci: Bool) async throws -> (index: String, children: [String]) {
        var descriptors: [[String: Any]] = []
        var children: [String] = []
        let childType = oci ? ManifestMediaType.ociManifest : ManifestMediaType.dockerManifest
        for platform in platforms {
            let parts = platform.split(separator: "/").map(String.init)
            guard parts.count >= 2 else { throw PushError(description: "platform \(platform) is not os/arch") }
            let manifest = try await imageManifest(repository: repository, os: parts[0], architecture: parts[1], oci: oci)
            let digest = Digest.sha256(manifest)
            _ = try await putManifest(repository: repository, reference: digest, mediaType: childType, body: manifest)
            children.append(digest)
            // `linux/arm64/v8`: the third part is the variant.
            let platform = ["os": parts[0], "architecture": parts[1]].merging(parts.count > 2 ? ["variant": parts[2]] : [:]) { a, _ in a }
            descriptors.append(["mediaType": childType, "size": manifest.count, "digest": digest, "platform": platform])
        }
        let listType = oci ? ManifestMediaType.ociIndex : ManifestMediaType.dockerManifestList
        let list: [String: Any] = ["schemaVersion": 2, "mediaType": listType, "manifests": descriptors]
        let body = Array(try JSONSerialization.data(withJSONObject: list, options: [.sortedKeys]))
        let index = try await putManifest(repository: repository, reference: tag, mediaType: listType, body: body)
        return (index, children)
    }

    private func imageManifest(repository: String, os: String, architecture: String, oci: Bool) async throws -> [UInt8] {
        let nonce = UUID().uuidString
        let tar = TarGzip.tar(fileName: "kate-test.txt", contents: Array("\(repository) \(os)/\(architecture) \(nonce)\n".utf8))
        let layer = TarGzip.gzip(tar)
        let config: [String: Any] = [
            "architecture": architecture, "os": os, "created": ISO8601DateFormatter().string(from: Date()),
            "config": ["Labels": ["dev.kate.test.nonce": nonce]],
            "rootfs": ["type": "layers", "diff_ids": [Digest.sha256(tar)]],
        ]
        let configBytes = Array(try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]))
        try await uploadBlob(repository: repository, configBytes)
        try await uploadBlob(repository: repository, layer)
        let manifest: [String: Any] = [
            "schemaVersion": 2,
            "mediaType": oci ? ManifestMediaType.ociManifest : ManifestMediaType.dockerManifest,
            "config": ["mediaType": oci ? "application/vnd.oci.image.config.v1+json" : "application/vnd.docker.container.image.v1+json",
                       "size": configBytes.count, "digest": Digest.sha256(configBytes)],
            "layers": [["mediaType": oci ? "application/vnd.oci.image.layer.v1.tar+gzip" : "application/vnd.docker.image.rootfs.diff.tar.gzip",
                        "size": layer.count, "digest": Digest.sha256(layer)]],
        ]
        return Array(try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys]))
    }

    private func uploadBlob(repository: String, _ bytes: [UInt8]) async throws {
        let digest = Digest.sha256(bytes)
        let start = try await send("POST", "/v2/\(repository)/blobs/uploads/", repository: repository)
        guard start.status == 202, let location = start.headers["Location"] else {
            throw PushError(description: "starting a blob upload to \(repository) answered \(start.status)")
        }
        let url = (location.hasPrefix("/") ? baseURL + location : location) + (location.contains("?") ? "&" : "?") + "digest=" + digest
        let put = try await send("PUT", url, repository: repository, headers: [("Content-Type", "application/octet-stream")], body: bytes)
        guard put.status == 201 else {
            throw PushError(description: "finishing blob upload \(digest) answered \(put.status): \(String(decoding: put.body, as: UTF8.self))")
        }
    }

    private func putManifest(repository: String, reference: String, mediaType: String, body: [UInt8]) async throws -> String {
        let response = try await send("PUT", "/v2/\(repository)/manifests/\(reference)", repository: repository, headers: [("Content-Type", mediaType)], body: body)
        guard response.status == 201 else {
            throw PushError(description: "PUT manifest \(repository):\(reference) answered \(response.status): \(String(decoding: response.body, as: UTF8.self))")
        }
        return Digest.sha256(body)
    }

    /// Sends with this registry's credentials: Basic, or a push token minted by the token server.
    func send(_ method: String, _ pathOrURL: String, repository: String, headers: [(String, String)] = [], body: [UInt8] = []) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(method: method, url: pathOrURL.hasPrefix("/") ? baseURL + pathOrURL : pathOrURL, headers: HTTPHeaders(headers), body: body)
        switch mode {
        case .plainHTTP:
            break
        case .basicAuthTLS(let user, let password):
            request.headers.add(name: "Authorization", value: HTTPAuthorization.basic(user: user, password: password))
        case .tokenAuthTLS:
            if let tokenServer {
                request.headers.add(name: "Authorization", value: "Bearer " + (try tokenServer.mint(repository: repository, actions: ["pull", "push", "delete"])))
            }
        }
        return try await client.execute(request, deadline: .now + .seconds(10))
    }
}
