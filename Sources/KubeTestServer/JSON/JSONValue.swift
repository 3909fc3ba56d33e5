/// A JSON document that keeps object key order and number spelling, so a fixture served back
/// reads exactly as `kubectl get -o json` printed it.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number's text as written (`1`, `0.5`, `1e3`): never rounded through Double.
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Ordered members; objects in API objects are small, so lookup is linear.
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    public static func int(_ value: Int) -> JSONValue { .number(String(value)) }

    /// Member `key` of an object (nil for other values or a missing key). Setting nil removes it;
    /// setting on a non-object turns the value into an object.
    public subscript(key: String) -> JSONValue? {
        get {
            guard case .object(let members) = self else { return nil }
            return members.first { $0.0 == key }?.1
        }
        set {
            var members: [(String, JSONValue)]
            if case .object(let existing) = self { members = existing } else { members = [] }
            if let index = members.firstIndex(where: { $0.0 == key }) {
                if let newValue { members[index].1 = newValue } else { members.remove(at: index) }
            } else if let newValue {
                members.append((key, newValue))
            }
            self = .object(members)
        }
    }

    /// The value at a path of object keys, e.g. `["metadata", "labels"]`.
    public subscript(path path: [String]) -> JSONValue? {
        get {
            var current: JSONValue? = self
            for key in path { current = current?[key] }
            return current
        }
        set {
            guard let first = path.first else {
                if let newValue { self = newValue }
                return
            }
            if path.count == 1 {
                self[first] = newValue
                return
            }
            var child = self[first] ?? .object([])
            child[path: Array(path.dropFirst())] = newValue
            self[first] = child
        }
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var intValue: Int? {
        if case .number(let n) = self { return Int(n) ?? Double(n).map { Int($0) } }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var objectValue: [(String, JSONValue)]? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// A `[String: String]` map such as labels or annotations (non-string members are skipped).
    public var stringMap: [String: String] {
        var map: [String: String] = [:]
        for (key, value) in objectValue ?? [] { if let s = value.stringValue { map[key] = s } }
        return map
    }

    public init(stringMap: [String: String]) {
        self = .object(stringMap.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })
    }
}
