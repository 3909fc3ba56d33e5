import Foundation

/// `meta.k8s.io/v1 Table`, what the apiserver answers when a client asks for
/// `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` (`kubectl get` does): columns computed
/// on the server, as pkg/printers/internalversion prints them for pods, deployments, replicasets,
/// namespaces and core events, and the default Name / Created At columns for every other kind.
enum TableConversion {
    struct Column {
        var name: String
        var type: String
        var format: String = ""
        var priority = 0
        var cell: (JSONValue) -> JSONValue
    }

    static func wantsTable(_ accept: String?) -> Bool {
        (accept ?? "").split(separator: ",").first.map { $0.contains("as=Table") && $0.contains("g=meta.k8s.io") } ?? false
    }

    /// A Table of `items` (a list's items, or one object), rows carrying the object as `includeObject` asks.
    static func table(for type: ResourceType, items: [JSONValue], resourceVersion: String?, continueToken: String?, includeObject: String?, now: Date = Date()) -> JSONValue {
        let columns = self.columns(for: type, now: now)
        let definitions: [JSONValue] = columns.map { column in
            .object([
                ("name", .string(column.name)), ("type", .string(column.type)), ("format", .string(column.format)),
                ("description", .string(column.name)), ("priority", .int(column.priority)),
            ])
        }
        let rows: [JSONValue] = items.map { item in
            var row: JSONValue = .object([("cells", .array(columns.map { $0.cell(item) }))])
            switch includeObject ?? "Metadata" {
            case "None": break
            case "Object": row["object"] = item
            default:
                row["object"] = .object([
                    ("kind", .string("PartialObjectMetadata")), ("apiVersion", .string("meta.k8s.io/v1")), ("metadata", item["metadata"] ?? .object([])),
                ])
            }
            return row
        }
        var metadata: JSONValue = .object([])
        if let resourceVersion { metadata["resourceVersion"] = .string(resourceVersion) }
        if let continueToken { metadata["continue"] = .string(continueToken) }
        return .object([
            ("kind", .string("Table")), ("apiVersion", .string("meta.k8s.io/v1")), ("metadata", metadata), ("columnDefinitions", .array(definitions)),
            ("rows", .array(rows)),
        ])
    }

    private static func columns(for type: ResourceType, now: Date) -> [Column] {
        let name = Column(name: "Name", type: "string", format: "name") { .string($0[path: ["metadata", "name"]]?.stringValue ?? "") }
        let age = Column(name: "Age", type: "string") { .string(humanAge($0[path: ["metadata", "creationTimestamp"]]?.stringValue, now: now)) }
        func int(_ path: [String]) -> (JSONValue) -> JSONValue { { .int($0[path: path]?.intValue ?? 0) } }
        func containers(_ template: [String]) -> [Column] {
            [
                Column(name: "Containers", type: "string", priority: 1) { item in
                    .string((item[path: template + ["containers"]]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }.joined(separator: ","))
                },
                Column(name: "Images", type: "string", priority: 1) { item in
                    .string((item[path: template + ["containers"]]?.arrayValue ?? []).compactMap { $0["image"]?.stringValue }.joined(separator: ","))
                },
                Column(name: "Selector", type: "string", priority: 1) { item in
                    .string((item[path: ["spec", "selector", "matchLabels"]]?.stringMap ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))
                },
            ]
        }
        switch type {
        case .pods:
            return [
                name,
                Column(name: "Ready", type: "string") { pod in
                    let statuses = pod[path: ["status", "containerStatuses"]]?.arrayValue ?? []
                    let total = pod[path: ["spec", "containers"]]?.arrayValue?.count ?? statuses.count
                    return .string("\(statuses.filter { $0["ready"]?.boolValue == true }.count)/\(total)")
                },
                Column(name: "Status", type: "string") { pod in
                    .string(pod[path: ["metadata", "deletionTimestamp"]] != nil ? "Terminating"
                        : pod[path: ["status", "reason"]]?.stringValue ?? pod[path: ["status", "phase"]]?.stringValue ?? "Unknown")
                },
                Column(name: "Restarts", type: "string") { pod in
                    .string(String((pod[path: ["status", "containerStatuses"]]?.arrayValue ?? []).reduce(0) { $0 + ($1["restartCount"]?.intValue ?? 0) }))
                },
                age,
                Column(name: "IP", type: "string", priority: 1) { .string($0[path: ["status", "podIP"]]?.stringValue ?? "<none>") },
                Column(name: "Node", type: "string", priority: 1) { .string($0[path: ["spec", "nodeName"]]?.stringValue ?? "<none>") },
                Column(name: "Nominated Node", type: "string", priority: 1) { .string($0[path: ["status", "nominatedNodeName"]]?.stringValue ?? "<none>") },
                Column(name: "Readiness Gates", type: "string", priority: 1) { _ in .string("<none>") },
            ]
        case .deployments:
            return [
                name,
                Column(name: "Ready", type: "string") { d in
                    .string("\(d[path: ["status", "readyReplicas"]]?.intValue ?? 0)/\(d[path: ["spec", "replicas"]]?.intValue ?? 1)")
                },
                Column(name: "Up-to-date", type: "integer", cell: int(["status", "updatedReplicas"])),
                Column(name: "Available", type: "integer", cell: int(["status", "availableReplicas"])),
                age,
            ] + containers(["spec", "template", "spec"])
        case .replicaSets:
            return [
                name,
                Column(name: "Desired", type: "integer", cell: int(["spec", "replicas"])),
                Column(name: "Current", type: "integer", cell: int(["status", "replicas"])),
                Column(name: "Ready", type: "integer", cell: int(["status", "readyReplicas"])),
                age,
            ] + containers(["spec", "template", "spec"])
        case .nodes:
            // `kubectl get nodes`: NAME, STATUS, ROLES, AGE, VERSION (pkg/printers printNode).
            return [
                name,
                Column(name: "Status", type: "string") { node in
                    let ready = (node[path: ["status", "conditions"]]?.arrayValue ?? []).first { $0["type"]?.stringValue == "Ready" }
                    return .string(ready?["status"]?.stringValue == "True" ? "Ready" : "NotReady")
                },
                Column(name: "Roles", type: "string") { node in
                    let prefix = "node-role.kubernetes.io/"
                    let roles = (node[path: ["metadata", "labels"]]?.stringMap ?? [:]).keys.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }.sorted()
                    return .string(roles.isEmpty ? "<none>" : roles.joined(separator: ","))
                },
                age,
                Column(name: "Version", type: "string") { .string($0[path: ["status", "nodeInfo", "kubeletVersion"]]?.stringValue ?? "") },
            ]
        case .namespaces:
            return [name, Column(name: "Status", type: "string") { .string($0[path: ["status", "phase"]]?.stringValue ?? "Active") }, age]
        case .coreEvents:
            // `kubectl get events`: LAST SEEN, TYPE, REASON, OBJECT, MESSAGE (and more with -o wide).
            func seen(_ event: JSONValue, _ fields: [String]) -> String {
                humanAge(fields.lazy.compactMap { event[$0]?.stringValue }.first ?? event[path: ["metadata", "creationTimestamp"]]?.stringValue, now: now)
            }
            return [
                Column(name: "Last Seen", type: "string") { .string(seen($0, ["lastTimestamp", "eventTime"])) },
                Column(name: "Type", type: "string") { .string($0["type"]?.stringValue ?? "") },
                Column(name: "Reason", type: "string") { .string($0["reason"]?.stringValue ?? "") },
                Column(name: "Object", type: "string") { event in
                    .string("\((event[path: ["involvedObject", "kind"]]?.stringValue ?? "").lowercased())/\(event[path: ["involvedObject", "name"]]?.stringValue ?? "")")
                },
                Column(name: "Subobject", type: "string", priority: 1) { .string($0[path: ["involvedObject", "fieldPath"]]?.stringValue ?? "") },
                Column(name: "Source", type: "string", priority: 1) { event in
                    .string(event[path: ["source", "component"]]?.stringValue ?? event["reportingComponent"]?.stringValue ?? "")
                },
                Column(name: "Message", type: "string") { .string($0["message"]?.stringValue ?? "") },
                Column(name: "First Seen", type: "string", priority: 1) { .string(seen($0, ["firstTimestamp", "eventTime"])) },
                Column(name: "Count", type: "string", priority: 1) { .string(String($0["count"]?.intValue ?? 1)) },
                Column(name: "Name", type: "string", format: "name", priority: 1) { .string($0[path: ["metadata", "name"]]?.stringValue ?? "") },
            ]
        default:
            return [name, Column(name: "Created At", type: "date") { $0[path: ["metadata", "creationTimestamp"]] ?? .null }]
        }
    }

    /// kubectl's duration.HumanDuration of the time since `timestamp` (RFC 3339).
    static func humanAge(_ timestamp: String?, now: Date) -> String {
        guard let timestamp, let date = ISO8601DateFormatter().date(from: timestamp) else { return "<unknown>" }
        let seconds = max(0, Int(now.timeIntervalSince(date)))
        let minutes = seconds / 60, hours = seconds / 3600, days = hours / 24
        if seconds < 120 { return "\(seconds)s" }
        if minutes < 10 { return seconds % 60 == 0 ? "\(minutes)m" : "\(minutes)m\(seconds % 60)s" }
        if minutes < 180 { return "\(minutes)m" }
        if hours < 8 { return minutes % 60 == 0 ? "\(hours)h" : "\(hours)h\(minutes % 60)m" }
        if hours < 48 { return "\(hours)h" }
        if hours < 192 { return hours % 24 == 0 ? "\(days)d" : "\(days)d\(hours % 24)h" }
        return "\(days)d"
    }
}
