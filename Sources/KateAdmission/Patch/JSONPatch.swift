import Foundation

/// The value of a JSON Patch operation. kate only ever writes strings (images, annotation
/// values) and a whole string map (`metadata.annotations` when the pod has none).
public enum PatchValue: Sendable, Equatable, Encodable {
    case string(String)
    case object([String: String])

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .object(let o): try c.encode(o)
        }
    }
}

/// One RFC 6902 operation. Only `add` and `replace` are generated: `replace` for `image`, which
/// exists on every container kate pins, and `add` for annotations (which also overwrites an
/// existing member, so it is valid whether or not the key is already there).
public struct PatchOperation: Sendable, Equatable, Encodable {
    public enum Op: String, Sendable, Encodable { case add, replace }
    public var op: Op
    public var path: String
    public var value: PatchValue

    public init(op: Op, path: String, value: PatchValue) {
        self.op = op
        self.path = path
        self.value = value
    }

    public static func add(_ path: String, _ value: PatchValue) -> PatchOperation { .init(op: .add, path: path, value: value) }
    public static func replace(_ path: String, _ value: PatchValue) -> PatchOperation { .init(op: .replace, path: path, value: value) }
}

/// RFC 6901 pointers.
public enum JSONPointer {
    /// Escapes one reference token: `~` → `~0` first, then `/` → `~1` (the order matters:
    /// the other order would turn `/` into `~01`).
    public static func escape(_ token: String) -> String {
        token.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    public static func unescape(_ token: Substring) -> String {
        token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
    }

    /// `["metadata", "annotations", "kate.dev/skip"]` → `/metadata/annotations/kate.dev~1skip`.
    public static func path(_ tokens: [String]) -> String {
        tokens.map { "/" + escape($0) }.joined()
    }
}

public enum JSONPatchEncoder {
    /// The patch document: a JSON array of operations, keys of object values sorted so the
    /// same review always yields the same bytes.
    public static func encode(_ operations: [PatchOperation]) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? Array(encoder.encode(operations))) ?? []
    }
}
