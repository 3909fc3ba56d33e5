import KateNet

/// The CNCF distribution registry's notifications (`docker-registry`, and registries built on it):
/// an envelope `{"events": […]}` sent as `application/vnd.docker.distribution.events.v1+json`, one
/// event per blob or manifest, `action` `push`/`pull`/`delete`, `target.repository`, `target.tag`
/// (a manifest pushed by tag), `target.digest`, and `request.host` (the host the pusher used).
/// https://distribution.github.io/distribution/about/notifications/
enum DistributionNotifications: RegistryEventFormat {
    static let name = "distribution"
    static let mediaType = "application/vnd.docker.distribution.events.v1+json"

    static func matches(_ payload: JSONObject) -> Bool { payload.objects("events") != nil }

    static func pushes(in payload: JSONObject, request: HTTPRequest) throws(RegistryEventError) -> RegistryEvents {
        guard let events = payload.objects("events") else { throw .malformed(format: name, "\"events\" is not an array of objects") }
        var result = RegistryEvents(format: name)
        for event in events { DistributionEvent.read(event, format: name, into: &result) }
        return result
    }
}

/// One distribution-style event; Azure Container Registry sends the same object without the envelope.
enum DistributionEvent {
    static func read(_ event: JSONObject, format: String, into result: inout RegistryEvents) {
        let action = event.string("action") ?? "?"
        let target = event.object("target")
        let repository = target?.string("repository") ?? ""
        guard action == "push" else {
            result.ignored.append("\(action) \(repository): not a push")
            return
        }
        guard let tag = target?.string("tag"), !tag.isEmpty else {
            // Blob uploads and manifests pushed by digest: nothing a tag follows.
            result.ignored.append("push of \(repository)@\(target?.string("digest") ?? "?") (\(target?.string("mediaType") ?? "?")) names no tag")
            return
        }
        result.add { () throws(RegistryEventError) in
            try RegistryPush.make(
                format: format, host: event.object("request")?.string("host"), repository: repository, tag: tag,
                digest: target?.string("digest"), eventID: event.string("id"))
        }
    }
}
