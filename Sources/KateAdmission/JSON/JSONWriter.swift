import KateNet

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
        JSONEscaping.appendEscaped(value, to: &bytes)
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

}
