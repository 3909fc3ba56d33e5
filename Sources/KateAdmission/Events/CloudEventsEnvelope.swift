import KateNet

/// CloudEvents 1.0 in structured mode (`application/cloudevents+json`): `specversion`, `id`,
/// `type`, and `data` carrying a registry's own event — Harbor's `harbor.artifact.pushed` (its
/// `event_data`), or any format above (e.g. an Azure Container Registry push relayed as a CloudEvent).
/// The CloudEvent's `id` is the replay key. https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md
enum CloudEventsEnvelope: RegistryEventFormat {
    static let name = "cloudevents"

    static func matches(_ payload: JSONObject) -> Bool { payload.string("specversion") != nil && payload.has("type") }

    static func pushes(in payload: JSONObject, request: HTTPRequest) throws(RegistryEventError) -> RegistryEvents {
        guard payload.string("specversion") == "1.0" else {
            throw .malformed(format: name, "specversion \(payload.string("specversion") ?? "?") is not 1.0")
        }
        let type = payload.string("type") ?? ""
        let id = payload.string("id")
        guard let data = payload.object("data") else {
            throw .malformed(format: name, "\(type): data is not a JSON object (binary mode and data_base64 are not read)")
        }
        if type.hasPrefix("harbor.") {
            guard type == "harbor.artifact.pushed" else { return RegistryEvents(format: name, ignored: ["\(type): not a push"]) }
            return try HarborEvents.read(eventData: data, format: name, eventID: id)
        }
        // Another registry's event inside: read it as its own format, reported as cloudevents.
        let formats = RegistryEventFormats.all.filter { ObjectIdentifier($0) != ObjectIdentifier(CloudEventsEnvelope.self) }
        var inner = try RegistryEventFormats.parse(data, request: request, formats: formats)
        inner.format = name
        for index in inner.pushes.indices {
            inner.pushes[index].format = name
            if let id { inner.pushes[index].eventID = "\(id)/\(inner.pushes[index].reference.trackedTag)" }
        }
        return inner
    }
}
