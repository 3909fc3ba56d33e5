import KateNet

/// The discovery documents kubectl and client-go read before any call (`/api`, `/apis`,
/// `/api/v1`, `/apis/{group}/{version}`, `/version`), in the legacy (unaggregated) form, which
/// every client falls back to when the server does not offer aggregated discovery.
enum Discovery {
    /// Subresources served beside their parents: (parent resource, subresource, kind, group, version, verbs).
    private static let subresources: [(String, String, String, String, String, [String])] = [
        ("pods", "eviction", "Eviction", "policy", "v1", ["create"]),
    ] + ResourceType.all.filter(\.hasScale).map { ($0.resource, "scale", "Scale", "autoscaling", "v1", ["get", "patch", "update"]) }

    static func respond(path: String, port: Int) -> HTTPResponse? {
        let trimmed = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
        switch trimmed {
        case "/version":
            return json(.object([
                ("major", .string("1")), ("minor", .string("32")), ("gitVersion", .string("v1.32.0-kate-test")),
                ("gitCommit", .string("0000000000000000000000000000000000000000")), ("gitTreeState", .string("clean")),
                ("buildDate", .string("2026-01-01T00:00:00Z")), ("goVersion", .string("go1.23")), ("compiler", .string("gc")),
                ("platform", .string("linux/amd64")),
            ]))
        case "/api":
            return json(.object([
                ("kind", .string("APIVersions")), ("versions", .array([.string("v1")])),
                ("serverAddressByClientCIDRs", .array([.object([("clientCIDR", .string("0.0.0.0/0")), ("serverAddress", .string("127.0.0.1:\(port)"))])])),
            ]))
        case "/apis":
            let groups = groupVersions().filter { !$0.group.isEmpty }
            var seen: [String] = []
            for entry in groups where !seen.contains(entry.group) { seen.append(entry.group) }
            let items: [JSONValue] = seen.map { group in
                let versions = groups.filter { $0.group == group }.map { version in
                    JSONValue.object([("groupVersion", .string("\(group)/\(version.version)")), ("version", .string(version.version))])
                }
                return .object([("name", .string(group)), ("versions", .array(versions)), ("preferredVersion", versions[0])])
            }
            return json(.object([("kind", .string("APIGroupList")), ("apiVersion", .string("v1")), ("groups", .array(items))]))
        default:
            let segments = trimmed.split(separator: "/").map(String.init)
            if segments.count == 2, segments[0] == "api" { return resourceList(group: "", version: segments[1]) }
            if segments.count == 3, segments[0] == "apis" { return resourceList(group: segments[1], version: segments[2]) }
            if segments.count == 2, segments[0] == "apis" {
                let versions = groupVersions().filter { $0.group == segments[1] }
                guard let first = versions.first else { return nil }
                let list = versions.map { JSONValue.object([("groupVersion", .string("\(segments[1])/\($0.version)")), ("version", .string($0.version))]) }
                return json(.object([
                    ("kind", .string("APIGroup")), ("apiVersion", .string("v1")), ("name", .string(first.group)), ("versions", .array(list)),
                    ("preferredVersion", list[0]),
                ]))
            }
            return nil
        }
    }

    private static func groupVersions() -> [(group: String, version: String)] {
        var result: [(group: String, version: String)] = []
        for type in ResourceType.all where !result.contains(where: { $0.group == type.group && $0.version == type.version }) {
            result.append((type.group, type.version))
        }
        // A subresource's kind may belong to another group (Scale: autoscaling/v1), but it is listed under its parent's
        // group; announcing the kind's group with no resources of its own makes kubectl fail ("received empty response").
        return result
    }

    private static func resourceList(group: String, version: String) -> HTTPResponse? {
        let types = ResourceType.all.filter { $0.group == group && $0.version == version }
        guard !types.isEmpty || groupVersions().contains(where: { $0.group == group && $0.version == version }) else { return nil }
        var resources: [JSONValue] = []
        for type in types {
            var entry: JSONValue = .object([
                ("name", .string(type.resource)), ("singularName", .string(type.kind.lowercased())), ("namespaced", .bool(type.namespaced)),
                ("kind", .string(type.kind)), ("verbs", .array(["create", "delete", "get", "list", "patch", "update", "watch"].map { .string($0) })),
            ])
            if !type.shortNames.isEmpty { entry["shortNames"] = .array(type.shortNames.map { .string($0) }) }
            resources.append(entry)
            if type.hasStatus {
                resources.append(.object([
                    ("name", .string("\(type.resource)/status")), ("singularName", .string("")), ("namespaced", .bool(type.namespaced)),
                    ("kind", .string(type.kind)), ("verbs", .array(["get", "patch", "update"].map { .string($0) })),
                ]))
            }
            for sub in subresources where sub.0 == type.resource {
                resources.append(.object([
                    ("name", .string("\(sub.0)/\(sub.1)")), ("singularName", .string("")), ("namespaced", .bool(type.namespaced)),
                    ("group", .string(sub.3)), ("version", .string(sub.4)), ("kind", .string(sub.2)),
                    ("verbs", .array(sub.5.map { .string($0) })),
                ]))
            }
        }
        let groupVersion = group.isEmpty ? version : "\(group)/\(version)"
        return json(.object([
            ("kind", .string("APIResourceList")), ("apiVersion", .string("v1")), ("groupVersion", .string(groupVersion)), ("resources", .array(resources)),
        ]))
    }

    private static func json(_ value: JSONValue) -> HTTPResponse { .json(200, value.serialized()) }
}
