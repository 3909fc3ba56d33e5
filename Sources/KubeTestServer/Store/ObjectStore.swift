import Foundation
import KateNet
import Synchronization

/// The test server's etcd: objects by kind and `namespace/name`, a global resourceVersion that
/// every write bumps, and paging over key order with opaque continue tokens.
final class ObjectStore: Sendable {
    private struct State {
        var objects: [ResourceType: [String: StoredObject]] = [:]
        /// Keys per kind in etcd order, so a page is a binary search and a walk, not a sort.
        var order: [ResourceType: [String]] = [:]
        var resourceVersion = 1000
        /// Continue tokens from revisions below this answer 410 (as after an etcd compaction).
        var compactedRevision = 0
        var uidCounter = 0
    }

    private let state = Mutex(State())
    /// What watches read: every write below is recorded there under this store's lock (watch).
    let history = WatchHistory()

    enum WriteError: Error, Equatable {
        case notFound
        case alreadyExists
        case conflict(String)
        case invalid(String)
    }

    // MARK: - Writes

    /// Stores `object` as new (or replaces it when `replace`), filling what the apiserver fills:
    /// uid, resourceVersion, creationTimestamp, namespace, a name from generateName, generation 1.
    @discardableResult
    func create(_ object: JSONValue, type: ResourceType, namespace: String?, replace: Bool = false) throws(WriteError) -> JSONValue {
        var object = object
        try state.withLock { (state: inout State) throws(WriteError) in
            if type.namespaced {
                let ns = namespace ?? object[path: ["metadata", "namespace"]]?.stringValue ?? "default"
                object[path: ["metadata", "namespace"]] = .string(ns)
            }
            if (object[path: ["metadata", "name"]]?.stringValue ?? "").isEmpty {
                guard let prefix = object[path: ["metadata", "generateName"]]?.stringValue, !prefix.isEmpty else {
                    throw .invalid("\(type.kind) \"\" is invalid: metadata.name: Required value: name or generateName is required")
                }
                object[path: ["metadata", "name"]] = .string(prefix + Self.randomSuffix())
            }
            if object["apiVersion"] == nil { object["apiVersion"] = .string(type.apiVersion) }
            if object["kind"] == nil { object["kind"] = .string(type.kind) }
            state.uidCounter += 1
            if object[path: ["metadata", "uid"]] == nil { object[path: ["metadata", "uid"]] = .string(Self.uid(state.uidCounter)) }
            if object[path: ["metadata", "creationTimestamp"]] == nil {
                object[path: ["metadata", "creationTimestamp"]] = .string(Self.timestamp(Date()))
            }
            if type != .pods, type.namespaced, object["spec"] != nil, object[path: ["metadata", "generation"]] == nil {
                object[path: ["metadata", "generation"]] = .int(1)
            }
            state.resourceVersion += 1
            object[path: ["metadata", "resourceVersion"]] = .string(String(state.resourceVersion))
            let stored = StoredObject(json: object, type: type)
            let previous = state.objects[type]?[stored.key]
            let exists = previous != nil
            if !replace, exists { throw .alreadyExists }
            state.objects[type, default: [:]][stored.key] = stored
            history.record(.init(kind: exists ? .modified : .added, type: type, resourceVersion: state.resourceVersion, object: stored, previous: previous))
            if !exists {
                let position = Self.firstIndex(after: stored.key, in: state.order[type] ?? [], inclusive: true)
                state.order[type, default: []].insert(stored.key, at: position)
            }
        }
        return object
    }

    /// Read-modify-write of one object; bumps resourceVersion, and generation when `spec` changed.
    @discardableResult
    func update(
        _ type: ResourceType, namespace: String?, name: String, _ change: (inout JSONValue) throws(WriteError) -> Void
    ) throws(WriteError) -> JSONValue {
        try state.withLock { (state: inout State) throws(WriteError) -> JSONValue in
            let key = Self.key(namespace: type.namespaced ? namespace : nil, name: name)
            guard let existing = state.objects[type]?[key] else { throw .notFound }
            let before = existing.json
            var object = before
            try change(&object)
            // Identity fields are the server's, whatever a patch said.
            for field in ["name", "namespace", "uid", "creationTimestamp"] {
                object[path: ["metadata", field]] = before[path: ["metadata", field]]
            }
            if object["spec"] != before["spec"], let generation = before[path: ["metadata", "generation"]]?.intValue {
                object[path: ["metadata", "generation"]] = .int(generation + 1)
            }
            state.resourceVersion += 1
            object[path: ["metadata", "resourceVersion"]] = .string(String(state.resourceVersion))
            let stored = StoredObject(json: object, type: type)
            state.objects[type]?[key] = stored
            history.record(.init(kind: .modified, type: type, resourceVersion: state.resourceVersion, object: stored, previous: existing))
            return object
        }
    }

    /// Removes an object; `precondition` sees it first and may refuse (UID preconditions).
    @discardableResult
    func delete(_ type: ResourceType, namespace: String?, name: String, precondition: (JSONValue) throws(WriteError) -> Void = { _ in }) throws(WriteError) -> JSONValue {
        try state.withLock { (state: inout State) throws(WriteError) -> JSONValue in
            let key = Self.key(namespace: type.namespaced ? namespace : nil, name: name)
            guard let existing = state.objects[type]?[key] else { throw .notFound }
            let object = existing.json
            try precondition(object)
            state.objects[type]?[key] = nil
            let position = Self.firstIndex(after: key, in: state.order[type] ?? [], inclusive: true)
            if state.order[type]?.indices.contains(position) == true, state.order[type]?[position] == key {
                state.order[type]?.remove(at: position)
            }
            state.resourceVersion += 1
            var last = object
            last[path: ["metadata", "resourceVersion"]] = .string(String(state.resourceVersion))
            history.record(.init(kind: .deleted, type: type, resourceVersion: state.resourceVersion, object: StoredObject(json: last, type: type), previous: nil))
            return object
        }
    }

    /// Every object of `type` (in `namespace`, or all) at one resourceVersion: a watch's initial state.
    func snapshot(_ type: ResourceType, namespace: String?) -> (objects: [StoredObject], resourceVersion: Int) {
        state.withLock { state in
            let objects = (state.order[type] ?? []).compactMap { state.objects[type]?[$0] }
            return (objects.filter { namespace == nil || $0.namespace == namespace }, state.resourceVersion)
        }
    }

    // MARK: - Reads

    func get(_ type: ResourceType, namespace: String?, name: String) -> StoredObject? {
        state.withLock { $0.objects[type]?[Self.key(namespace: type.namespaced ? namespace : nil, name: name)] }
    }

    func count(_ type: ResourceType) -> Int { state.withLock { $0.objects[type]?.count ?? 0 } }

    var currentResourceVersion: Int { state.withLock { $0.resourceVersion } }

    /// Every continue token issued so far expires (410 on use), as after an etcd compaction.
    /// The revision moves on first (as it would have through writes), so lists started afterwards
    /// page normally.
    func compact() {
        state.withLock { state in
            state.resourceVersion += 1
            state.compactedRevision = state.resourceVersion
            history.compact(at: state.resourceVersion)
        }
    }

    struct Page {
        var items: [[UInt8]]
        var resourceVersion: Int
        var continueToken: String?
        var remaining: Int
    }

    enum ListError: Error { case expired, invalidContinue }

    /// One page in key order after the token's start key, filtered by `matching`.
    func list(
        _ type: ResourceType, namespace: String?, limit: Int?, continueToken: String?, matching: (StoredObject) -> Bool
    ) throws(ListError) -> Page {
        try state.withLock { (state: inout State) throws(ListError) -> Page in
            var startAfter: String?
            var listRevision = state.resourceVersion
            if let continueToken, !continueToken.isEmpty {
                guard let token = ContinueToken.decode(continueToken) else { throw .invalidContinue }
                if token.resourceVersion < state.compactedRevision { throw .expired }
                startAfter = token.lastKey
                listRevision = token.resourceVersion
            }
            let keys = state.order[type] ?? []
            let objects = state.objects[type] ?? [:]
            var index = startAfter.map { Self.firstIndex(after: $0, in: keys, inclusive: false) } ?? 0
            var items: [[UInt8]] = []
            var lastKey = ""
            var remaining = 0
            while index < keys.count {
                let key = keys[index]
                index += 1
                guard let object = objects[key], namespace == nil || object.namespace == namespace, matching(object) else { continue }
                if let limit, limit > 0, items.count >= limit {
                    remaining += 1
                } else {
                    items.append(object.itemBytes)
                    lastKey = key
                }
            }
            guard remaining > 0 else { return Page(items: items, resourceVersion: listRevision, continueToken: nil, remaining: 0) }
            return Page(
                items: items, resourceVersion: listRevision,
                continueToken: ContinueToken(resourceVersion: listRevision, lastKey: lastKey).encoded(), remaining: remaining
            )
        }
    }

    /// Binary search in sorted `keys`: the first index whose key is > `key` (>= when `inclusive`).
    static func firstIndex(after key: String, in keys: [String], inclusive: Bool) -> Int {
        var low = 0, high = keys.count
        while low < high {
            let mid = (low + high) / 2
            if keys[mid] < key || (!inclusive && keys[mid] == key) { low = mid + 1 } else { high = mid }
        }
        return low
    }

    // MARK: - Helpers

    static func key(namespace: String?, name: String) -> String {
        guard let namespace, !namespace.isEmpty else { return name }
        return "\(namespace)/\(name)"
    }

    /// A UUID-shaped, deterministic-per-store uid (tests compare uids, never their spelling).
    static func uid(_ counter: Int) -> String {
        let hex = String(counter, radix: 16)
        let tail = String(repeating: "0", count: max(0, 12 - hex.count)) + hex
        return "6b1a0c3e-4f2d-4a8b-9c7e-\(tail.suffix(12))"
    }

    static func randomSuffix() -> String {
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        return String((0..<5).map { _ in alphabet.randomElement() ?? "x" })
    }

    /// RFC 3339 in UTC, whole seconds, as `metav1.Time` serializes.
    static func timestamp(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday), Int(parts.tm_hour),
            Int(parts.tm_min), Int(parts.tm_sec)
        )
    }
}

/// The apiserver's continue token: base64url of `{"v":"meta.k8s.io/v1","rv":N,"start":"<key>\u0000"}`.
struct ContinueToken: Equatable {
    var resourceVersion: Int
    var lastKey: String

    func encoded() -> String {
        let json: JSONValue = .object([("v", .string("meta.k8s.io/v1")), ("rv", .int(resourceVersion)), ("start", .string(lastKey + "\u{0}"))])
        return Base64.encode(json.serialized())
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ token: String) -> ContinueToken? {
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let bytes = Base64.decode(base64), let json = try? JSONValue.parse(bytes),
              json["v"]?.stringValue == "meta.k8s.io/v1", let rv = json["rv"]?.intValue, var start = json["start"]?.stringValue
        else { return nil }
        if start.hasSuffix("\u{0}") { start.removeLast() }
        return ContinueToken(resourceVersion: rv, lastKey: start)
    }
}
