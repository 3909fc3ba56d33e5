/// One object in the store: its serialized bytes without `apiVersion`/`kind` (exactly a list item
/// as the apiserver writes it, so a 10,000-pod list is a concatenation, not 10,000 serializations)
/// plus the fields selectors and paging need.
struct StoredObject: Sendable {
    /// The object as a list item: the apiserver leaves TypeMeta off items.
    var itemBytes: [UInt8]
    var apiVersion: String
    var kind: String
    var namespace: String
    var name: String
    var labels: [String: String]
    /// Values for field selectors beyond name and namespace (`status.phase`, `spec.nodeName`, …);
    /// only the non-empty ones are kept, 10,000 stored pods add up.
    var fields: [String: String]

    /// Storage order: etcd key order, i.e. namespace then name.
    let key: String

    init(json: JSONValue, type: ResourceType) {
        apiVersion = json["apiVersion"]?.stringValue ?? type.apiVersion
        kind = json["kind"]?.stringValue ?? type.kind
        var item = json
        item["apiVersion"] = nil
        item["kind"] = nil
        itemBytes = item.serialized()
        namespace = json[path: ["metadata", "namespace"]]?.stringValue ?? ""
        name = json[path: ["metadata", "name"]]?.stringValue ?? ""
        labels = json[path: ["metadata", "labels"]]?.stringMap ?? [:]
        var fields: [String: String] = [:]
        func keep(_ field: String, _ path: [String]) {
            if let value = json[path: path]?.stringValue, !value.isEmpty { fields[field] = value }
        }
        if type == .pods {
            keep("status.phase", ["status", "phase"])
            keep("spec.nodeName", ["spec", "nodeName"])
            keep("spec.restartPolicy", ["spec", "restartPolicy"])
            keep("spec.schedulerName", ["spec", "schedulerName"])
            keep("spec.serviceAccountName", ["spec", "serviceAccountName"])
            keep("status.podIP", ["status", "podIP"])
            keep("status.nominatedNodeName", ["status", "nominatedNodeName"])
        }
        if type == .secrets { keep("type", ["type"]) }
        if type == .coreEvents || type == .events {
            let fields = type == .coreEvents ? EventConversion.coreSelectableFields : EventConversion.eventsSelectableFields
            for field in fields { keep(field, field.split(separator: ".").map(String.init)) }
        }
        self.fields = fields
        key = ObjectStore.key(namespace: namespace, name: name)
    }

    /// The value a field selector compares (absent fields read as "").
    func field(_ name: String) -> String {
        switch name {
        case "metadata.name": self.name
        case "metadata.namespace": namespace
        default: fields[name] ?? ""
        }
    }

    /// The object as GET returns it: TypeMeta first, then the stored members.
    var bytes: [UInt8] {
        var out = Array(#"{"apiVersion":"#.utf8)
        JSONValue.writeString(apiVersion, to: &out)
        out.append(contentsOf: #","kind":"#.utf8)
        JSONValue.writeString(kind, to: &out)
        if itemBytes.count > 2 { out.append(UInt8(ascii: ",")) }
        out.append(contentsOf: itemBytes.dropFirst())
        return out
    }

    /// The whole object. Parsing our own serialization cannot fail; a corrupt entry reads as TypeMeta only.
    var json: JSONValue {
        let members = (try? JSONValue.parse(itemBytes))?.objectValue ?? []
        return .object([("apiVersion", .string(apiVersion)), ("kind", .string(kind))] + members)
    }
}
