import Foundation
import KateNet

/// A request target resolved against the API's URL layout:
/// `/api/v1[/namespaces/{ns}]/{resource}[/{name}[/{subresource}]]` and the same under
/// `/apis/{group}/{version}`.
struct APIRequest {
    var type: ResourceType
    var namespace: String?
    var name: String?
    var subresource: String?

    /// RBAC verb for this method and target.
    func verb(method: String) -> String {
        switch method {
        case "GET", "HEAD": name == nil ? "list" : "get"
        case "POST": "create"
        case "PATCH": "patch"
        case "PUT": "update"
        case "DELETE": name == nil ? "deletecollection" : "delete"
        default: method.lowercased()
        }
    }

    /// `pods` or `pods/eviction`, as RBAC rules name it.
    var rbacResource: String { subresource.map { "\(type.resource)/\($0)" } ?? type.resource }

    static func parse(path: String) -> APIRequest? {
        let segments = path.split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
        var rest: ArraySlice<String>
        let group: String, version: String
        if segments.first == "api", segments.count >= 2 {
            group = ""
            version = segments[1]
            rest = segments.dropFirst(2)
        } else if segments.first == "apis", segments.count >= 3 {
            group = segments[1]
            version = segments[2]
            rest = segments.dropFirst(3)
        } else {
            return nil
        }
        var namespace: String?
        if rest.first == "namespaces", rest.count >= 3 {
            namespace = rest.dropFirst().first
            rest = rest.dropFirst(2)
        }
        guard let resource = rest.first, let type = ResourceType.forURL(group: group, version: version, resource: resource) else { return nil }
        // A namespaced kind addressed without a namespace can only be listed cluster-wide.
        if type.namespaced, namespace == nil, rest.count > 1 { return nil }
        if !type.namespaced, namespace != nil { return nil }
        let name = rest.dropFirst().first
        let subresource = rest.dropFirst(2).first
        guard rest.count <= 3 else { return nil }
        return APIRequest(type: type, namespace: namespace, name: name, subresource: subresource)
    }
}
