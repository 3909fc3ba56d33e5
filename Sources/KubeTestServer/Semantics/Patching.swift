/// The two PATCH flavours kate sends, applied as the apiserver applies them to built-in kinds.
enum Patching {
    /// RFC 7386 JSON merge patch: objects merge recursively, `null` deletes, anything else replaces.
    static func mergePatch(_ target: JSONValue, _ patch: JSONValue) -> JSONValue {
        guard case .object(let patchMembers) = patch else { return patch }
        var result: JSONValue = target.objectValue != nil ? target : .object([])
        for (key, value) in patchMembers {
            if value == .null {
                result[key] = nil
            } else {
                result[key] = mergePatch(result[key] ?? .null, value)
            }
        }
        return result
    }

    /// Strategic merge patch, the subset built-in kinds need for kate's patches: maps merge as in
    /// a merge patch; lists of objects that carry `name` (containers, env, volumes) merge by name
    /// instead of being replaced; `$`-prefixed directives are ignored.
    static func strategicMergePatch(_ target: JSONValue, _ patch: JSONValue) -> JSONValue {
        switch patch {
        case .object(let patchMembers):
            var result: JSONValue = target.objectValue != nil ? target : .object([])
            for (key, value) in patchMembers where !key.hasPrefix("$") {
                if value == .null {
                    result[key] = nil
                } else {
                    result[key] = strategicMergePatch(result[key] ?? .null, value)
                }
            }
            return result
        case .array(let patchElements):
            guard case .array(var targetElements) = target, patchElements.allSatisfy({ $0["name"]?.stringValue != nil }),
                  targetElements.allSatisfy({ $0["name"]?.stringValue != nil })
            else { return patch }
            for element in patchElements {
                let name = element["name"]?.stringValue
                if let index = targetElements.firstIndex(where: { $0["name"]?.stringValue == name }) {
                    targetElements[index] = strategicMergePatch(targetElements[index], element)
                } else {
                    targetElements.append(element)
                }
            }
            return .array(targetElements)
        default:
            return patch
        }
    }
}

/// RFC 6902 JSON Patch (`kubectl patch --type json`, and what a mutating webhook answers), applied
/// as kube-apiserver applies it with evanphx/json-patch: operations in order, all or nothing.
enum JSONPatch {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func apply(_ operations: JSONValue, to document: JSONValue) throws(Failure) -> JSONValue {
        guard case .array(let list) = operations else { throw Failure(description: "json: cannot unmarshal object into Go value of type jsonpatch.Patch") }
        var result = document
        for operation in list {
            guard let op = operation["op"]?.stringValue else { throw Failure(description: "Unexpected kind: unknown") }
            guard let path = operation["path"]?.stringValue else { throw Failure(description: "missing path in \(op) operation") }
            let tokens = try pointer(path)
            switch op {
            case "add":
                guard let value = operation["value"] else { throw Failure(description: "missing value in add operation") }
                result = try insert(value, at: tokens, in: result, replacing: false)
            case "replace":
                guard let value = operation["value"] else { throw Failure(description: "missing value in replace operation") }
                _ = try lookup(tokens, in: result, op: op, path: path)
                result = try insert(value, at: tokens, in: result, replacing: true)
            case "remove":
                _ = try lookup(tokens, in: result, op: op, path: path)
                result = try remove(at: tokens, in: result)
            case "test":
                let actual = try lookup(tokens, in: result, op: op, path: path)
                guard actual == operation["value"] else { throw Failure(description: "testing value \(path) failed: test failed") }
            case "move", "copy":
                guard let from = operation["from"]?.stringValue else { throw Failure(description: "missing from in \(op) operation") }
                let fromTokens = try pointer(from)
                let value = try lookup(fromTokens, in: result, op: op, path: from)
                if op == "move" { result = try remove(at: fromTokens, in: result) }
                result = try insert(value, at: tokens, in: result, replacing: false)
            default:
                throw Failure(description: "Unexpected kind: \(op)")
            }
        }
        return result
    }

    /// RFC 6901: `/a/b~1c/0` → ["a", "b/c", "0"].
    static func pointer(_ path: String) throws(Failure) -> [String] {
        if path.isEmpty { return [] }
        guard path.hasPrefix("/") else { throw Failure(description: "JSON pointer \(path) must start with /") }
        return path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    private static func lookup(_ tokens: [String], in document: JSONValue, op: String, path: String) throws(Failure) -> JSONValue {
        var current = document
        for token in tokens {
            switch current {
            case .object:
                guard let next = current[token] else { throw missing(op, path) }
                current = next
            case .array(let elements):
                guard let index = Int(token), elements.indices.contains(index) else { throw missing(op, path) }
                current = elements[index]
            default:
                throw missing(op, path)
            }
        }
        return current
    }

    private static func missing(_ op: String, _ path: String) -> Failure {
        Failure(description: "\(op) operation does not apply: doc is missing path: \(path): missing value")
    }

    private static func insert(_ value: JSONValue, at tokens: [String], in document: JSONValue, replacing: Bool) throws(Failure) -> JSONValue {
        guard let first = tokens.first else { return value }
        let rest = Array(tokens.dropFirst())
        switch document {
        case .object:
            if rest.isEmpty {
                var copy = document
                copy[first] = value
                return copy
            }
            guard let child = document[first] else { throw Failure(description: "add operation does not apply: doc is missing path: \(first)") }
            var copy = document
            copy[first] = try insert(value, at: rest, in: child, replacing: replacing)
            return copy
        case .array(var elements):
            if rest.isEmpty {
                if first == "-", !replacing { elements.append(value); return .array(elements) }
                guard let index = Int(first), index >= 0, index <= elements.count - (replacing ? 1 : 0) else {
                    throw Failure(description: "add operation does not apply: doc is missing path: index \(first) out of bounds")
                }
                if replacing { elements[index] = value } else { elements.insert(value, at: index) }
                return .array(elements)
            }
            guard let index = Int(first), elements.indices.contains(index) else {
                throw Failure(description: "add operation does not apply: doc is missing path: index \(first) out of bounds")
            }
            elements[index] = try insert(value, at: rest, in: elements[index], replacing: replacing)
            return .array(elements)
        default:
            throw Failure(description: "add operation does not apply: doc is missing path: \(first)")
        }
    }

    private static func remove(at tokens: [String], in document: JSONValue) throws(Failure) -> JSONValue {
        guard let first = tokens.first else { return .null }
        let rest = Array(tokens.dropFirst())
        switch document {
        case .object:
            var copy = document
            if rest.isEmpty { copy[first] = nil; return copy }
            guard let child = document[first] else { throw missing("remove", first) }
            copy[first] = try remove(at: rest, in: child)
            return copy
        case .array(var elements):
            guard let index = Int(first), elements.indices.contains(index) else { throw missing("remove", first) }
            if rest.isEmpty { elements.remove(at: index) } else { elements[index] = try remove(at: rest, in: elements[index]) }
            return .array(elements)
        default:
            throw missing("remove", first)
        }
    }
}

extension KubeTestServer {
    /// Applies an RFC 6902 JSON Patch (a webhook's answer) to a document, as kube-apiserver does.
    public static func applyJSONPatch(_ patch: JSONValue, to document: JSONValue) throws -> JSONValue {
        try JSONPatch.apply(patch, to: document)
    }
}
