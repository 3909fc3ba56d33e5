import Foundation

/// A strict RFC 6902 applier (add, remove, replace, test), as unforgiving as the apiserver's
/// evanphx/json-patch: `replace` of a missing member, `add` under a missing parent or an
/// out-of-range index all fail. Every patch kate generates is applied with it in the tests.
enum JSONPatchApplier {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func apply(patch bytes: [UInt8], to document: JSONValue) throws -> JSONValue {
        guard case .array(let operations) = try JSONValue.parse(bytes) else { throw Failure(description: "patch is not a JSON array") }
        var doc = document
        for operation in operations {
            guard let op = operation["op"]?.stringValue, let path = operation["path"]?.stringValue else {
                throw Failure(description: "operation without op/path: \(operation)")
            }
            let tokens = try tokens(path)
            switch op {
            case "add":
                guard let value = operation["value"] else { throw Failure(description: "add without value at \(path)") }
                doc = try modify(doc, tokens[...], path: path) { parent, last in try add(parent, last, value, path: path) }
            case "replace":
                guard let value = operation["value"] else { throw Failure(description: "replace without value at \(path)") }
                doc = try modify(doc, tokens[...], path: path) { parent, last in try replace(parent, last, value, path: path) }
            case "remove":
                doc = try modify(doc, tokens[...], path: path) { parent, last in try remove(parent, last, path: path) }
            case "test":
                guard doc.at(path) == operation["value"] else { throw Failure(description: "test failed at \(path)") }
            default:
                throw Failure(description: "unsupported op \(op)")
            }
        }
        return doc
    }

    static func tokens(_ pointer: String) throws -> [String] {
        if pointer.isEmpty { return [] }
        guard pointer.hasPrefix("/") else { throw Failure(description: "pointer \(pointer) does not start with /") }
        return pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    private static func modify(
        _ value: JSONValue, _ tokens: ArraySlice<String>, path: String, _ change: (JSONValue, String) throws -> JSONValue
    ) throws -> JSONValue {
        guard let first = tokens.first else { throw Failure(description: "cannot modify the document root (\(path))") }
        if tokens.count == 1 { return try change(value, first) }
        switch value {
        case .object(var o):
            guard let child = o[first] else { throw Failure(description: "missing member \(first) on the way to \(path)") }
            o[first] = try modify(child, tokens.dropFirst(), path: path, change)
            return .object(o)
        case .array(var a):
            guard let i = Int(first), a.indices.contains(i) else { throw Failure(description: "bad index \(first) on the way to \(path)") }
            a[i] = try modify(a[i], tokens.dropFirst(), path: path, change)
            return .array(a)
        default:
            throw Failure(description: "cannot descend into a scalar at \(first) (\(path))")
        }
    }

    private static func add(_ parent: JSONValue, _ key: String, _ value: JSONValue, path: String) throws -> JSONValue {
        switch parent {
        case .object(var o):
            o[key] = value
            return .object(o)
        case .array(var a):
            if key == "-" { a.append(value); return .array(a) }
            guard let i = Int(key), i >= 0, i <= a.count else { throw Failure(description: "add: bad index \(key) (\(path))") }
            a.insert(value, at: i)
            return .array(a)
        default:
            throw Failure(description: "add: parent of \(path) is not a container")
        }
    }

    private static func replace(_ parent: JSONValue, _ key: String, _ value: JSONValue, path: String) throws -> JSONValue {
        switch parent {
        case .object(var o):
            guard o[key] != nil else { throw Failure(description: "replace: missing member \(path)") }
            o[key] = value
            return .object(o)
        case .array(var a):
            guard let i = Int(key), a.indices.contains(i) else { throw Failure(description: "replace: bad index \(path)") }
            a[i] = value
            return .array(a)
        default:
            throw Failure(description: "replace: parent of \(path) is not a container")
        }
    }

    private static func remove(_ parent: JSONValue, _ key: String, path: String) throws -> JSONValue {
        switch parent {
        case .object(var o):
            guard o.removeValue(forKey: key) != nil else { throw Failure(description: "remove: missing member \(path)") }
            return .object(o)
        case .array(var a):
            guard let i = Int(key), a.indices.contains(i) else { throw Failure(description: "remove: bad index \(path)") }
            a.remove(at: i)
            return .array(a)
        default:
            throw Failure(description: "remove: parent of \(path) is not a container")
        }
    }
}
