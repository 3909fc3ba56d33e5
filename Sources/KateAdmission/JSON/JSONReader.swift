/// A forward-only JSON reader over the request body: reads the few fields admission needs and
/// skips everything else without building it. An AdmissionReview is mostly fields kate never
/// looks at (managedFields, volumes, probes, status); Foundation's JSONDecoder spent ~180 µs
/// per 8 KB review materialising them, this spends a fraction of that, which is what the
/// 10,000 reviews/s target needs on two cores.
///
/// It validates structure as it goes (brackets, strings, literals, numbers, nesting depth), so
/// a malformed body is an error with the byte offset, never a crash.
struct JSONReader {
    struct Failure: Error, Sendable, CustomStringConvertible {
        let message: String
        let offset: Int
        var description: String { "\(message) at byte \(offset)" }
    }

    /// Deeper nesting than any Kubernetes object has; bounds the recursion of `skipValue`.
    static let maxDepth = 200

    private let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func failure(_ message: String) -> Failure { Failure(message: message, offset: offset) }

    mutating func skipWhitespace() {
        // Fast exit: the apiserver writes compact JSON, so usually there is nothing to skip.
        guard offset < bytes.count, bytes[offset] <= 0x20 else { return }
        while offset < bytes.count {
            switch bytes[offset] {
            case 0x20, 0x09, 0x0A, 0x0D: offset += 1
            default: return
            }
        }
    }

    /// The index of the first `"`, `\\` or control character at or after `from` (or the end):
    /// the hot loop of reading and skipping strings, run over the raw buffer.
    private func stringStop(from start: Int) -> Int {
        bytes.withUnsafeBufferPointer { JSONScan.stringStop($0, from: start) }
    }

    mutating func peek() -> UInt8? {
        skipWhitespace()
        return offset < bytes.count ? bytes[offset] : nil
    }

    mutating func expect(_ byte: UInt8, _ what: String) throws(Failure) {
        guard peek() == byte else { throw failure("expected \(what)") }
        offset += 1
    }

    mutating func expectEnd() throws(Failure) {
        if peek() != nil { throw failure("unexpected data after the JSON value") }
    }

    /// Consumes `null` if it is next.
    mutating func consumeNull() throws(Failure) -> Bool {
        guard peek() == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let count = word.utf8CodeUnitCount
        guard offset + count <= bytes.count else { throw failure("truncated literal") }
        let matches = word.withUTF8Buffer { expected in
            (0..<count).allSatisfy { bytes[offset + $0] == expected[$0] }
        }
        guard matches else { throw failure("invalid literal") }
        offset += count
    }

    mutating func readBool() throws(Failure) -> Bool {
        switch peek() {
        case UInt8(ascii: "t"): try literal("true"); return true
        case UInt8(ascii: "f"): try literal("false"); return false
        default: throw failure("expected true or false")
        }
    }

    mutating func readString() throws(Failure) -> String {
        try expect(UInt8(ascii: "\""), "a string")
        let start = offset
        offset = stringStop(from: start)
        guard offset < bytes.count else { throw failure("unterminated string") }
        switch bytes[offset] {
        case UInt8(ascii: "\""):
            defer { offset += 1 }
            return String(decoding: bytes[start..<offset], as: UTF8.self)
        case UInt8(ascii: "\\"):
            return try readEscapedString(from: start)
        default:
            throw failure("control character in string")
        }
    }

    private mutating func readEscapedString(from start: Int) throws(Failure) -> String {
        var buffer = Array(bytes[start..<offset])
        while offset < bytes.count {
            let byte = bytes[offset]
            offset += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: buffer, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard offset < bytes.count else { throw failure("unterminated escape") }
                let escaped = bytes[offset]
                offset += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): buffer.append(escaped)
                case UInt8(ascii: "b"): buffer.append(0x08)
                case UInt8(ascii: "f"): buffer.append(0x0C)
                case UInt8(ascii: "n"): buffer.append(0x0A)
                case UInt8(ascii: "r"): buffer.append(0x0D)
                case UInt8(ascii: "t"): buffer.append(0x09)
                case UInt8(ascii: "u"): try appendUnicodeEscape(to: &buffer)
                default: throw failure("invalid escape")
                }
            default:
                if byte < 0x20 { throw failure("control character in string") }
                buffer.append(byte)
            }
        }
        throw failure("unterminated string")
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard offset + 4 <= bytes.count else { throw failure("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[offset]
            let digit: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
            default: throw failure("invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            offset += 1
        }
        return value
    }

    /// `\uXXXX`, joining UTF-16 surrogate pairs; a lone surrogate becomes U+FFFD like Go does.
    private mutating func appendUnicodeEscape(to buffer: inout [UInt8]) throws(Failure) {
        var scalar = try hex4()
        if (0xD800..<0xDC00).contains(scalar), offset + 1 < bytes.count, bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u") {
            offset += 2
            let low = try hex4()
            scalar = (0xDC00..<0xE000).contains(low) ? 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00) : 0xFFFD
        }
        let unicode = Unicode.Scalar(scalar) ?? "\u{FFFD}"
        buffer.append(contentsOf: Array(String(Character(unicode)).utf8))
    }

    /// Skips one value of any kind, checking its structure (brackets, keys, colons, commas,
    /// strings, literals, number characters) exactly as reading it would.
    ///
    /// Most of a review is skipped (managedFields, status, volumes, probes), so this is the hot
    /// loop of admission: one pass over the bytes with an explicit state and a bit stack of the
    /// open containers, instead of a recursive call and a closure per member.
    mutating func skipValue() throws(Failure) {
        switch peek() {
        case UInt8(ascii: "{"), UInt8(ascii: "["): break
        case UInt8(ascii: "\""): _ = try skipString(); return
        case UInt8(ascii: "t"), UInt8(ascii: "f"): _ = try readBool(); return
        case UInt8(ascii: "n"): try literal("null"); return
        case .some(let c) where c == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c):
            try skipNumber(); return
        default: throw failure("expected a JSON value")
        }
        let outcome = bytes.withUnsafeBufferPointer { JSONScan.containerEnd($0, from: offset, maxDepth: Self.maxDepth) }
        switch outcome {
        case .end(let end): offset = end
        case .failed(let message, let at): offset = at; throw failure(message)
        }
    }

    private mutating func skipString() throws(Failure) -> Bool {
        try expect(UInt8(ascii: "\""), "a string")
        let outcome = bytes.withUnsafeBufferPointer { JSONScan.stringEnd($0, from: offset) }
        switch outcome {
        case .end(let end): offset = end; return true
        case .failed(let message, let at): offset = at; throw failure(message)
        }
    }

    private mutating func skipNumber() throws(Failure) {
        let start = offset
        offset = bytes.withUnsafeBufferPointer { JSONScan.numberEnd($0, from: start) }
        guard offset > start else { throw failure("invalid number") }
    }

    /// An object key as bytes: compared with `case "metadata":` patterns without building a
    /// String (most keys of a Pod are skipped, and many are longer than Swift's inline strings).
    struct Key: CustomStringConvertible {
        let bytes: ArraySlice<UInt8>

        var description: String { String(decoding: bytes, as: UTF8.self) }

        static func == (key: Key, literal: StaticString) -> Bool {
            literal.withUTF8Buffer { expected in
                expected.count == key.bytes.count && key.bytes.withUnsafeBufferPointer { $0.elementsEqual(expected) }
            }
        }

        static func ~= (literal: StaticString, key: Key) -> Bool { key == literal }
    }

    private mutating func readKey() throws(Failure) -> Key {
        try expect(UInt8(ascii: "\""), "an object key")
        let start = offset
        let stop = stringStop(from: start)
        if stop < bytes.count, bytes[stop] == UInt8(ascii: "\"") {
            offset = stop + 1
            return Key(bytes: bytes[start..<stop])
        }
        // Escapes (or an error): take the general path from the opening quote.
        offset = start - 1
        return Key(bytes: ArraySlice(try readString().utf8))
    }

    /// Calls `body` for every member with the reader positioned at the member's value; `body`
    /// must consume the value (read it or `skipValue()`).
    mutating func readObject(_ body: (inout JSONReader, Key) throws(Failure) -> Void) throws(Failure) {
        try expect(UInt8(ascii: "{"), "an object")
        if peek() == UInt8(ascii: "}") { offset += 1; return }
        while true {
            let key = try readKey()
            try expect(UInt8(ascii: ":"), "':' after an object key")
            try body(&self, key)
            switch peek() {
            case UInt8(ascii: ","): offset += 1
            case UInt8(ascii: "}"): offset += 1; return
            default: throw failure("expected ',' or '}' in an object")
            }
        }
    }

    mutating func readArray(_ body: (inout JSONReader) throws(Failure) -> Void) throws(Failure) {
        try expect(UInt8(ascii: "["), "an array")
        if peek() == UInt8(ascii: "]") { offset += 1; return }
        while true {
            try body(&self)
            switch peek() {
            case UInt8(ascii: ","): offset += 1
            case UInt8(ascii: "]"): offset += 1; return
            default: throw failure("expected ',' or ']' in an array")
            }
        }
    }

    /// A string, or nil for `null`.
    mutating func readOptionalString() throws(Failure) -> String? {
        try consumeNull() ? nil : try readString()
    }

    /// A `{string: string}` object (labels, annotations), or nil for `null`.
    mutating func readStringMap() throws(Failure) -> [String: String]? {
        if try consumeNull() { return nil }
        var map: [String: String] = [:]
        try readObject { (reader: inout JSONReader, key: Key) throws(Failure) in map[key.description] = try reader.readString() }
        return map
    }
}
