/// events.k8s.io/v1 and core v1 Events are one resource in the apiserver, seen through two versions
/// (pkg/apis/events/v1 conversion): kate writes events.k8s.io, `kubectl describe` reads core v1.
/// The test server stores each event in both forms; these functions convert one into the other.
enum EventConversion {
    /// Field selectors the apiserver accepts for core v1 events (`kubectl describe` sends the involvedObject ones).
    static let coreSelectableFields: Set<String> = [
        "involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid", "involvedObject.apiVersion",
        "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type",
    ]
    static let eventsSelectableFields: Set<String> = [
        "regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid", "regarding.apiVersion", "reason", "reportingController", "type",
    ]

    /// (field in events.k8s.io/v1, field in core v1), for the fields that differ only in name.
    private static let renamed: [(String, String)] = [
        ("regarding", "involvedObject"), ("note", "message"), ("deprecatedSource", "source"), ("deprecatedFirstTimestamp", "firstTimestamp"),
        ("deprecatedLastTimestamp", "lastTimestamp"), ("deprecatedCount", "count"), ("reportingController", "reportingComponent"),
    ]
    private static let same = ["metadata", "related", "reason", "type", "eventTime", "series", "action", "reportingInstance"]

    static func toCore(_ event: JSONValue) -> JSONValue {
        var core: JSONValue = .object([("apiVersion", .string("v1")), ("kind", .string("Event"))])
        for field in same { if let value = event[field] { core[field] = value } }
        for (new, old) in renamed { if let value = event[new] { core[old] = value } }
        if core["source"] == nil, let controller = event["reportingController"] { core["source"] = .object([("component", controller)]) }
        // core v1 names a series' last time `lastObservedTime` too; its count lives in both.
        return core
    }

    static func toEvents(_ core: JSONValue) -> JSONValue {
        var event: JSONValue = .object([("apiVersion", .string("events.k8s.io/v1")), ("kind", .string("Event"))])
        for field in same { if let value = core[field] { event[field] = value } }
        for (new, old) in renamed { if let value = core[old] { event[new] = value } }
        if event["reportingController"] == nil, let component = core[path: ["source", "component"]] { event["reportingController"] = component }
        return event
    }
}
