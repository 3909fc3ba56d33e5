/// One object in the store: its serialized bytes (what GET returns, kept so a 10,000-pod list is a
/// concatenation, not 10,000 serializations) plus the fields selectors and paging need.
struct StoredObject: Sendable {
    var bytes: [UInt8]
    var namespace: String
    var name: String
    var labels: [String: String]
    /// Values for field selectors (`status.phase`, `spec.nodeName`, …).
    var fields: [String: String]

    /// Storage order: etcd key order, i.e. namespace then name.
    let key: String

    init(json: JSONValue, type: ResourceType) {
        bytes = json.serialized()
        namespace = json[path: ["metadata", "namespace"]]?.stringValue ?? ""
        name = json[path: ["metadata", "name"]]?.stringValue ?? ""
        labels = json[path: ["metadata", "labels"]]?.stringMap ?? [:]
        var fields = ["metadata.name": name, "metadata.namespace": namespace]
        if type == .pods {
            fields["status.phase"] = json[path: ["status", "phase"]]?.stringValue ?? ""
            fields["spec.nodeName"] = json[path: ["spec", "nodeName"]]?.stringValue ?? ""
            fields["spec.restartPolicy"] = json[path: ["spec", "restartPolicy"]]?.stringValue ?? ""
            fields["spec.schedulerName"] = json[path: ["spec", "schedulerName"]]?.stringValue ?? ""
            fields["spec.serviceAccountName"] = json[path: ["spec", "serviceAccountName"]]?.stringValue ?? ""
            fields["status.podIP"] = json[path: ["status", "podIP"]]?.stringValue ?? ""
            fields["status.nominatedNodeName"] = json[path: ["status", "nominatedNodeName"]]?.stringValue ?? ""
        }
        if type == .secrets { fields["type"] = json["type"]?.stringValue ?? "" }
        self.fields = fields
        key = ObjectStore.key(namespace: namespace, name: name)
    }

    /// Parsing our own serialization cannot fail; a corrupt entry reads as an empty object.
    var json: JSONValue { (try? JSONValue.parse(bytes)) ?? .object([]) }
}
