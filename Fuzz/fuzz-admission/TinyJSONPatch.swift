import Foundation

/// Just enough RFC 6902 (add, replace, remove, test) over Foundation JSON values to check that
/// kate's patches apply the way kube-apiserver applies them: the parent of every target must
/// exist, `replace`/`remove` need an existing member, array indices must be in range.
enum TinyJSONPatch {
    struct Failure: Error, CustomStringConvertible { let description: String }

    static func apply(_ patch: [UInt8], to document: Any) throws -> Any {
        guard let operations = try JSONSerialization.jsonObject(with: Data(patch)) as? [[String: Any]] else {
            throw Failure(description: "patch is not an array of objects")
        }
        var result = document
        for operation in operations {
            guard let op = operation["op"] as? String, let path = operation["path"] as? String else {
                throw Failure(description: "operation without op/path: \(operation)")
            }
            let tokens = try pointerTokens(path)
            guard !tokens.isEmpty else { throw Failure(description: "operation on the whole document: \(path)") }
            result = try apply(op, tokens[...], value: operation["value"], in: result, path: path)
        }
        return result
    }

    /// RFC 6901: "" is the root; otherwise "/"-separated tokens with ~1 → "/" then ~0 → "~".
    static func pointerTokens(_ pointer: String) throws -> [String] {
        guard !pointer.isEmpty else { return [] }
        guard pointer.hasPrefix("/") else { throw Failure(description: "pointer \(pointer) does not start with /") }
        return pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    private static func apply(_ op: String, _ tokens: ArraySlice<String>, value: Any?, in node: Any, path: String) throws -> Any {
        guard let token = tokens.first else { throw Failure(description: "empty pointer") }
        let last = tokens.count == 1
        if var object = node as? [String: Any] {
            if last {
                switch op {
                case "add":
                    guard let value else { throw Failure(description: "add without value at \(path)") }
                    object[token] = value
                case "replace":
                    guard object[token] != nil, let value else { throw Failure(description: "replace of missing member \(path)") }
                    object[token] = value
                case "remove":
                    guard object.removeValue(forKey: token) != nil else { throw Failure(description: "remove of missing member \(path)") }
                case "test":
                    guard let current = object[token], let value, equal(current, value) else { throw Failure(description: "test failed at \(path)") }
                default:
                    throw Failure(description: "unsupported op \(op)")
                }
                return object
            }
            guard let child = object[token] else { throw Failure(description: "no member \(token) on the way to \(path)") }
            object[token] = try apply(op, tokens.dropFirst(), value: value, in: child, path: path)
            return object
        }
        if var array = node as? [Any] {
            let index: Int
            if token == "-", last, op == "add" {
                index = array.count
            } else {
                guard let parsed = Int(token), parsed >= 0, String(parsed) == token else {
                    throw Failure(description: "bad array index \(token) in \(path)")
                }
                index = parsed
            }
            if last {
                switch op {
                case "add":
                    guard index <= array.count, let value else { throw Failure(description: "add index out of range at \(path)") }
                    array.insert(value, at: index)
                case "replace":
                    guard index < array.count, let value else { throw Failure(description: "replace index out of range at \(path)") }
                    array[index] = value
                case "remove":
                    guard index < array.count else { throw Failure(description: "remove index out of range at \(path)") }
                    array.remove(at: index)
                case "test":
                    guard index < array.count, let value, equal(array[index], value) else { throw Failure(description: "test failed at \(path)") }
                default:
                    throw Failure(description: "unsupported op \(op)")
                }
                return array
            }
            guard index < array.count else { throw Failure(description: "index out of range on the way to \(path)") }
            array[index] = try apply(op, tokens.dropFirst(), value: value, in: array[index], path: path)
            return array
        }
        throw Failure(description: "\(path) goes through a scalar")
    }

    private static func equal(_ a: Any, _ b: Any) -> Bool {
        (a as? NSObject)?.isEqual(b) ?? false
    }
}
