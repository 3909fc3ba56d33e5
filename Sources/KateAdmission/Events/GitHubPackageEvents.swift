import KateNet

/// GitHub Packages webhooks (`package` and the older `registry_package` events), `action`
/// `published`: `package_version.container_metadata.tag.name`/`digest`, the image in
/// `package_version.package_url` (`ghcr.io/owner/name:tag`; else `ghcr.io/<owner.login>/<name>`).
/// GitHub signs the body: `X-Hub-Signature-256: sha256=<HMAC-SHA256 hex>`; `X-GitHub-Delivery` is the event id.
/// https://docs.github.com/webhooks/webhook-events-and-payloads#package
enum GitHubPackageEvents: RegistryEventFormat {
    static let name = "github"

    static func matches(_ payload: JSONObject) -> Bool {
        (payload.object("package") ?? payload.object("registry_package"))?.has("package_version") == true
    }

    static func pushes(in payload: JSONObject, request: HTTPRequest) throws(RegistryEventError) -> RegistryEvents {
        guard let package = payload.object("package") ?? payload.object("registry_package"), let version = package.object("package_version") else {
            throw .malformed(format: name, "package.package_version is missing")
        }
        let action = payload.string("action") ?? "?"
        guard action == "published" || action == "updated" else { return RegistryEvents(format: name, ignored: ["\(action): not a publish"]) }
        let tag = version.object("container_metadata")?.object("tag")
        let repository = imageName(package: package, version: version)
        var result = RegistryEvents(format: name)
        result.add { () throws(RegistryEventError) in
            guard let repository else { throw .unusable("package \(package.string("name") ?? "?") names no container image") }
            return try RegistryPush.make(
                format: name, host: nil, repository: repository, tag: tag?.string("name") ?? "", digest: tag?.string("digest"),
                eventID: request.headers["X-GitHub-Delivery"])
        }
        return result
    }

    /// `ghcr.io/owner/name` (lower case, as ghcr.io requires) from `package_url` without its `:tag`.
    static func imageName(package: JSONObject, version: JSONObject) -> String? {
        if let url = version.string("package_url"), url.contains("/") {
            let withoutTag = url.lastIndex(of: ":").map { index in url[index...].contains("/") ? Substring(url) : url[..<index] } ?? Substring(url)
            return withoutTag.lowercased()
        }
        guard let owner = package.object("owner")?.string("login"), let name = package.string("name") else { return nil }
        return "ghcr.io/\(owner)/\(name)".lowercased()
    }
}
