/// Writes the small JSON documents kate answers with (the AdmissionReview response, the patch,
/// the original-images annotation). Hand-written because Foundation's JSONEncoder cost ~50 µs
/// per answer, a quarter of the per-review budget; the output is plain RFC 8259 JSON.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 512) { bytes.reserveCapacity(capacity) }

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        // Images, paths and names almost never need escaping: copy them in one go.
        let plain = value.utf8.withContiguousStorageIfAvailable { utf8 in
            JSONScan.stringStop(utf8, from: 0) == utf8.count
        }
        if plain == true {
            bytes.append(contentsOf: value.utf8)
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\\")); bytes.append(byte)
            case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(byte)
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            case 0..<0x20:
                raw("\\u00")
                bytes.append(Self.hex[Int(byte >> 4)])
                bytes.append(Self.hex[Int(byte & 0x0F)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// A string known to need no escaping (base64, digits): copied as is.
    mutating func plainString(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: value.utf8)
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func int(_ value: Int) { bytes.append(contentsOf: Array(String(value).utf8)) }

    mutating func bool(_ value: Bool) { value ? raw("true") : raw("false") }

    /// An object with keys in sorted order, so equal maps always serialise to equal bytes.
    mutating func stringMap(_ map: [String: String]) {
        bytes.append(UInt8(ascii: "{"))
        for (i, key) in map.keys.sorted().enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            string(key)
            bytes.append(UInt8(ascii: ":"))
            string(map[key] ?? "")
        }
        bytes.append(UInt8(ascii: "}"))
    }

    mutating func stringArray(_ values: [String]) {
        bytes.append(UInt8(ascii: "["))
        for (i, value) in values.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            string(value)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    private static let hex = Array("0123456789abcdef".utf8)
}

extension JSONReader {
    /// `{"name":"image",…}` as stored in the `kate.dev/original-images` annotation; nil if the
    /// value is not such an object (kate then starts a fresh one rather than failing the pod).
    static func stringMap(from text: String) -> [String: String]? {
        var reader = JSONReader(Array(text.utf8))
        guard let map = try? reader.readStringMap(), (try? reader.expectEnd()) != nil else { return nil }
        return map
    }
}
