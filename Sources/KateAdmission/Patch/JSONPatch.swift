/// The value of a JSON Patch operation. kate only ever writes strings (images, annotation
/// values) and a whole string map (`metadata.annotations` when the pod has none).
public enum PatchValue: Sendable, Equatable {
    case string(String)
    case object([String: String])
}

/// One RFC 6902 operation. Only `add` and `replace` are generated: `replace` for `image`, which
/// exists on every container kate pins, and `add` for annotations (which also overwrites an
/// existing member, so it is valid whether or not the key is already there).
public struct PatchOperation: Sendable, Equatable {
    public enum Op: String, Sendable { case add, replace }
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
        guard token.utf8.contains(where: { $0 == UInt8(ascii: "~") || $0 == UInt8(ascii: "/") }) else { return token }
        // Byte-wise: `~` and `/` are ASCII, so they never occur inside a multi-byte character.
        var out: [UInt8] = []
        out.reserveCapacity(token.utf8.count + 4)
        for byte in token.utf8 {
            switch byte {
            case UInt8(ascii: "~"): out.append(UInt8(ascii: "~")); out.append(UInt8(ascii: "0"))
            case UInt8(ascii: "/"): out.append(UInt8(ascii: "~")); out.append(UInt8(ascii: "1"))
            default: out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func unescape(_ token: Substring) -> String {
        var out = ""
        var iterator = token.makeIterator()
        while let character = iterator.next() {
            guard character == "~" else { out.append(character); continue }
            switch iterator.next() {
            case "0": out += "~"
            case "1": out += "/"
            case let other?: out += "~" + String(other)
            case nil: out += "~"
            }
        }
        return out
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
        var writer = JSONWriter()
        write(operations, to: &writer)
        return writer.bytes
    }

    static func write(_ operations: [PatchOperation], to writer: inout JSONWriter) {
        writer.raw("[")
        for (i, operation) in operations.enumerated() {
            if i > 0 { writer.raw(",") }
            writer.raw("{\"op\":")
            writer.string(operation.op.rawValue)
            writer.raw(",\"path\":")
            writer.string(operation.path)
            writer.raw(",\"value\":")
            switch operation.value {
            case .string(let value): writer.string(value)
            case .object(let map): writer.stringMap(map)
            }
            writer.raw("}")
        }
        writer.raw("]")
    }
}
