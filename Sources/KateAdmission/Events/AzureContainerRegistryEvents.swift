import KateNet

/// Azure Container Registry webhooks: one distribution-style event per request (no `events`
/// envelope): `action` `push`, `target.repository`/`tag`/`digest`, `request.host`
/// (`myregistry.azurecr.io`). https://learn.microsoft.com/azure/container-registry/container-registry-webhook-reference
enum AzureContainerRegistryEvents: RegistryEventFormat {
    static let name = "acr"

    static func matches(_ payload: JSONObject) -> Bool {
        payload.string("action") != nil && payload.object("target") != nil && payload.object("request") != nil
    }

    static func pushes(in payload: JSONObject, request: HTTPRequest) throws(RegistryEventError) -> RegistryEvents {
        var result = RegistryEvents(format: name)
        DistributionEvent.read(payload, format: name, into: &result)
        return result
    }
}
