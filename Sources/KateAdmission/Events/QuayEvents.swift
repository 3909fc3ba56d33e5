import KateNet

/// Quay repository-push notifications: `docker_url` (`quay.io/dgangaia/test`, host included) and
/// `updated_tags`, a list of tags (Red Hat Quay 3) or, in older Quay.io payloads, an object from
/// tag to image id. No digest and no event id. Quay sends no custom headers: authenticate with
/// `?token=` in the notification URL.
/// https://docs.redhat.com/en/documentation/red_hat_quay/3/html/use_red_hat_quay/repository-events
enum QuayEvents: RegistryEventFormat {
    static let name = "quay"

    static func matches(_ payload: JSONObject) -> Bool { payload.string("docker_url") != nil && payload.has("updated_tags") }

    static func pushes(in payload: JSONObject, request: HTTPRequest) throws(RegistryEventError) -> RegistryEvents {
        guard let url = payload.string("docker_url"), !url.isEmpty else { throw .malformed(format: name, "docker_url is missing") }
        let tags = payload.strings("updated_tags") ?? payload.object("updated_tags")?.keys.sorted() ?? []
        var result = RegistryEvents(format: name)
        if tags.isEmpty { result.ignored.append("\(url): updated_tags is empty") }
        for tag in tags {
            result.add { () throws(RegistryEventError) in
                try RegistryPush.make(format: name, host: nil, repository: url, tag: tag, digest: nil, eventID: nil)
            }
        }
        return result
    }
}
