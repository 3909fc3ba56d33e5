/// `metadata.managedFields` as kube-apiserver maintains it (structured-merge-diff's field manager),
/// for the writes the test server serves: who set which field, in `FieldsV1` form.
///
/// - **Update** (POST, PUT, and every PATCH except apply): the fields the write added or changed
///   move to the writer's `Update` entry and leave every other manager's entry; fields it removed
///   leave every entry. A manager left owning nothing is dropped.
/// - **Apply** (`application/apply-patch+yaml`): the writer's `Apply` entry becomes exactly the
///   fields of its configuration; a field another manager owns with a different value is a 409
///   conflict unless `force=true`, which takes it over; fields the applier owned before, left out
///   now and owned by nobody else, are removed from the object.
///
/// Without the OpenAPI schema, lists of objects that carry a key field (`name`; `containerPort` +
/// `protocol` for ports; `mountPath`; condition `type`) are associative (`k:{…}` elements), other
/// lists are atomic, and only the known string maps (labels, annotations, selectors, data) mark
/// their own membership with `.` as the apiserver prints it.
enum ManagedFields {
    enum Operation: String { case update = "Update", apply = "Apply" }

    /// A field path: `["f:spec", "f:template", "k:{\"name\":\"app\"}", "f:image"]`.
    typealias Path = [String]

    /// kube-apiserver's choice: `?fieldManager=` when given, else the User-Agent up to its first `/`.
    static func manager(fieldManager: String?, userAgent: String?) -> String {
        if let fieldManager, !fieldManager.isEmpty { return fieldManager }
        let agent = userAgent ?? ""
        return String(agent.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    }

    struct Conflict: Error {
        var message: String
    }

    /// Records an Update by `manager` that turned `before` into `after` (in `after`'s metadata).
    static func recordUpdate(manager: String, before: JSONValue, after: inout JSONValue, subresource: String?, now: String) {
        let old = flatten(before, subresource: subresource)
        let new = flatten(after, subresource: subresource)
        let changed = Set(new.keys.filter { old[$0] != new[$0] })
        let removed = Set(old.keys.filter { new[$0] == nil })
        var entries = Entry.entries(of: before)
        var mine = Set<Path>()
        var index: Int?
        for (position, entry) in entries.enumerated() {
            if entry.manager == manager, entry.operation == .update, entry.subresource == subresource {
                index = position
                mine = entry.fields
                continue
            }
            entries[position].fields.subtract(removed)
            entries[position].fields.subtract(changed)
        }
        mine.subtract(removed)
        mine.formUnion(changed)
        let apiVersion = after["apiVersion"]?.stringValue ?? ""
        if let index {
            if !changed.isEmpty || mine != entries[index].fields { entries[index].time = now }
            entries[index].fields = mine
        } else if !mine.isEmpty {
            entries.append(Entry(manager: manager, operation: .update, apiVersion: apiVersion, time: now, subresource: subresource, fields: mine))
        }
        store(entries.filter { !$0.fields.isEmpty }, in: &after)
    }

    /// Applies `config` for `manager` to `live`; throws a `Conflict` the apiserver would answer 409.
    static func apply(manager: String, config: JSONValue, to live: JSONValue, force: Bool, now: String) throws(Conflict) -> JSONValue {
        let applied = flatten(config, subresource: nil)
        let current = flatten(live, subresource: nil)
        var entries = Entry.entries(of: live)
        var conflicts: [(manager: String, path: Path)] = []
        for entry in entries where !(entry.manager == manager && entry.operation == .apply) {
            for path in entry.fields.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                guard let value = applied[path], let existing = current[path], value != existing else { continue }
                conflicts.append((entry.manager, path))
            }
        }
        if !conflicts.isEmpty, !force {
            let lines = conflicts.map { "- conflict with \"\($0.manager)\": \(dotted($0.path))" }
            throw Conflict(message: "Apply failed with \(conflicts.count) conflict\(conflicts.count == 1 ? "" : "s"): \(lines.joined(separator: "\n"))")
        }
        var object = Patching.strategicMergePatch(live, config)
        let previous = entries.first { $0.manager == manager && $0.operation == .apply }?.fields ?? []
        let ownedByOthers = entries.filter { !($0.manager == manager && $0.operation == .apply) }.reduce(into: Set<Path>()) { $0.formUnion($1.fields) }
        // Longest paths first, so a removed map is emptied before it is itself considered.
        for path in previous.subtracting(Set(applied.keys)).subtracting(ownedByOthers).sorted(by: { $0.count > $1.count }) {
            remove(path, from: &object)
        }
        let taken = Set(conflicts.map(\.path))
        for position in entries.indices where !(entries[position].manager == manager && entries[position].operation == .apply) {
            entries[position].fields.subtract(taken)
        }
        let apiVersion = object["apiVersion"]?.stringValue ?? ""
        let fields = Set(applied.keys)
        if let index = entries.firstIndex(where: { $0.manager == manager && $0.operation == .apply }) {
            entries[index].fields = fields
            entries[index].time = now
        } else {
            entries.append(Entry(manager: manager, operation: .apply, apiVersion: apiVersion, time: now, subresource: nil, fields: fields))
        }
        store(entries.filter { !$0.fields.isEmpty }, in: &object)
        return object
    }

    // MARK: - Entries

    struct Entry {
        var manager: String
        var operation: Operation
        var apiVersion: String
        var time: String
        var subresource: String?
        var fields: Set<Path>

        static func entries(of object: JSONValue) -> [Entry] {
            (object[path: ["metadata", "managedFields"]]?.arrayValue ?? []).compactMap { json in
                guard let manager = json["manager"]?.stringValue, let operation = json["operation"]?.stringValue.flatMap(Operation.init) else { return nil }
                var fields = Set<Path>()
                if let tree = json["fieldsV1"] { collect(tree, prefix: [], into: &fields) }
                return Entry(
                    manager: manager, operation: operation, apiVersion: json["apiVersion"]?.stringValue ?? "", time: json["time"]?.stringValue ?? "",
                    subresource: json["subresource"]?.stringValue, fields: fields)
            }
        }

        var json: JSONValue {
            var members: [(String, JSONValue)] = [
                ("apiVersion", .string(apiVersion)), ("fieldsType", .string("FieldsV1")), ("fieldsV1", ManagedFields.tree(fields)),
                ("manager", .string(manager)), ("operation", .string(operation.rawValue)),
            ]
            if let subresource { members.append(("subresource", .string(subresource))) }
            members.append(("time", .string(time)))
            return .object(members)
        }
    }

    private static func store(_ entries: [Entry], in object: inout JSONValue) {
        object[path: ["metadata", "managedFields"]] = entries.isEmpty ? nil : .array(entries.map(\.json))
    }

    // MARK: - Field sets

    /// What structured-merge-diff strips before tracking (fieldmanager's stripMeta), by top-level key.
    private static let strippedMetadata: Set<String> = [
        "name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "selfLink", "managedFields", "deletionTimestamp",
    ]
    /// Fields whose value is a map of user keys (the apiserver marks the map itself with `.`).
    private static let stringMaps: Set<String> = ["labels", "annotations", "matchLabels", "nodeSelector", "data", "stringData", "limits", "requests"]

    /// Every tracked path of `object` with its value (`nil` value: a membership-only node, e.g. a
    /// list element or a map). A main-resource write tracks all but `status`; a `status` write only `status`.
    static func flatten(_ object: JSONValue, subresource: String?) -> [Path: JSONValue?] {
        var out: [Path: JSONValue?] = [:]
        for (key, value) in object.objectValue ?? [] {
            switch key {
            case "apiVersion", "kind": continue
            case "status": if subresource != "status" { continue }
            default: if subresource == "status" { continue }
            }
            if key == "metadata" {
                for (field, child) in value.objectValue ?? [] where !strippedMetadata.contains(field) {
                    walk(child, named: field, path: ["f:metadata", "f:\(field)"], into: &out)
                }
                continue
            }
            walk(value, named: key, path: ["f:\(key)"], into: &out)
        }
        return out
    }

    private static func walk(_ value: JSONValue, named name: String, path: Path, into out: inout [Path: JSONValue?]) {
        switch value {
        // Go's `omitempty` drops an empty map or list on the way to etcd, so the field is gone; an
        // empty struct (`resources: {}`) stays and is tracked.
        case .object(let members) where members.isEmpty && stringMaps.contains(name): return
        case .array(let elements) where elements.isEmpty: return
        case .object(let members) where !members.isEmpty:
            if stringMaps.contains(name) { out[path] = .some(nil) }
            for (key, child) in members { walk(child, named: key, path: path + ["f:\(key)"], into: &out) }
        case .array(let elements) where !elements.isEmpty && elements.allSatisfy({ elementKey($0) != nil }):
            for element in elements {
                guard let key = elementKey(element) else { continue }
                let elementPath = path + [key]
                out[elementPath] = .some(nil)
                for (field, child) in element.objectValue ?? [] { walk(child, named: field, path: elementPath + ["f:\(field)"], into: &out) }
            }
        default:
            out[path] = .some(value)
        }
    }

    /// `k:{"name":"app"}` for an element of an associative list; nil for anything else.
    private static func elementKey(_ element: JSONValue) -> String? {
        guard element.objectValue != nil else { return nil }
        var key: [(String, JSONValue)] = []
        if let port = element["containerPort"] {
            key = [("containerPort", port), ("protocol", element["protocol"] ?? .string("TCP"))]
        } else if let name = element["name"], name.stringValue != nil {
            key = [("name", name)]
        } else if let mountPath = element["mountPath"] {
            key = [("mountPath", mountPath)]
        } else if let type = element["type"], type.stringValue != nil, element["status"] != nil {
            key = [("type", type)]
        } else {
            return nil
        }
        return "k:" + String(decoding: JSONValue.object(key).serialized(), as: UTF8.self)
    }

    /// Reads a `fieldsV1` tree back into paths.
    private static func collect(_ tree: JSONValue, prefix: Path, into fields: inout Set<Path>) {
        guard case .object(let members) = tree else { return }
        if members.isEmpty, !prefix.isEmpty { fields.insert(prefix) }
        for (key, child) in members {
            if key == "." { fields.insert(prefix) } else { collect(child, prefix: prefix + [key], into: &fields) }
        }
    }

    /// Writes paths as a `fieldsV1` tree: leaves are `{}`, a member node with children gets `".": {}`.
    static func tree(_ fields: Set<Path>) -> JSONValue {
        final class Node {
            var member = false
            var children: [String: Node] = [:]
        }
        let root = Node()
        for path in fields {
            var node = root
            for key in path {
                if let next = node.children[key] { node = next } else {
                    let next = Node()
                    node.children[key] = next
                    node = next
                }
            }
            node.member = true
        }
        func render(_ node: Node) -> JSONValue {
            var members: [(String, JSONValue)] = []
            if node.member, !node.children.isEmpty { members.append((".", .object([]))) }
            for key in node.children.keys.sorted() {
                if let child = node.children[key] { members.append((key, render(child))) }
            }
            return .object(members)
        }
        return render(root)
    }

    /// `.spec.template.metadata.annotations.kubectl.kubernetes.io/restartedAt`, as conflict messages print paths.
    private static func dotted(_ path: Path) -> String {
        path.map { $0.hasPrefix("f:") ? "." + $0.dropFirst(2) : "[\($0.dropFirst(2))]" }.joined()
    }

    /// Deletes the field at `path` (object members and keyed list elements).
    private static func remove(_ path: Path, from object: inout JSONValue) {
        guard let first = path.first else { return }
        let rest = Array(path.dropFirst())
        if first.hasPrefix("f:") {
            let key = String(first.dropFirst(2))
            guard var child = object[key] else { return }
            if rest.isEmpty {
                object[key] = nil
            } else {
                remove(rest, from: &child)
                object[key] = child
            }
        } else if case .array(var elements) = object, let index = elements.firstIndex(where: { elementKey($0) == first }) {
            if rest.isEmpty { elements.remove(at: index) } else { remove(rest, from: &elements[index]) }
            object = .array(elements)
        }
    }
}
