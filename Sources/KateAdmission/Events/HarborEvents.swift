import KateNet

/// Harbor's default webhook payload: `type` `PUSH_ARTIFACT`, `event_data.resources[]` with `tag`,
/// `digest` and `resource_url` (`hub.harbor.com/test-webhook/debian:latest`, which carries the
/// host), `event_data.repository.repo_full_name`. Harbor sends the webhook's configured auth header
/// verbatim as `Authorization` (configure it as `Bearer <token>`).
/// https://goharbor.io/docs/main/working-with-projects/project-configuration/configure-webhooks/
enum HarborEvents: RegistryEventFormat {
    static let name = "harbor"

    static func matches(_ payload: JSONObject) -> Bool { payload.string("type") != nil && payload.object("event_data") != nil }

    static func pushes(in payload: JSONObject, request: HTTPRequest) throws(RegistryEventError) -> RegistryEvents {
        let type = payload.string("type") ?? ""
        guard type == "PUSH_ARTIFACT" else { return RegistryEvents(format: name, ignored: ["\(type): not a push"]) }
        guard let data = payload.object("event_data") else { throw .malformed(format: name, "event_data is not an object") }
        return try read(eventData: data, format: name, eventID: nil)
    }

    /// `event_data` (also the `data` of Harbor's CloudEvents format).
    static func read(eventData data: JSONObject, format: String, eventID: String?) throws(RegistryEventError) -> RegistryEvents {
        guard let repository = data.object("repository")?.string("repo_full_name"), let resources = data.objects("resources") else {
            throw .malformed(format: format, "event_data needs repository.repo_full_name and resources[]")
        }
        var result = RegistryEvents(format: format)
        for resource in resources {
            let tag = resource.string("tag") ?? ""
            result.add { () throws(RegistryEventError) in
                try RegistryPush.make(
                    format: format, host: host(of: resource.string("resource_url"), repository: repository), repository: repository, tag: tag,
                    digest: resource.string("digest"), eventID: eventID.map { "\($0)/\(tag)" })
            }
        }
        return result
    }

    /// The host in front of the repository in `resource_url` (`hub.harbor.com/test-webhook/debian:latest`).
    static func host(of resourceURL: String?, repository: String) -> String? {
        guard let url = resourceURL, let range = url.range(of: "/" + repository) else { return nil }
        let host = url[..<range.lowerBound]
        return host.isEmpty ? nil : String(host)
    }
}
