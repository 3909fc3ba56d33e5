extension Base64 {
    /// Decodes standard base64 with padding (RFC 4648 §4), strictly: nil for a length that is not a
    /// multiple of four, a character outside the alphabet (white space included), or padding
    /// anywhere but the end, like Go's `encoding/base64` (swift-corelibs-foundation lets the last
    /// two through).
    public static func decode(_ text: String) -> [UInt8]? {
        let input = Array(text.utf8)
        guard input.count % 4 == 0 else { return nil }
        guard !input.isEmpty else { return [] }
        let padding = input.last == UInt8(ascii: "=") ? (input[input.count - 2] == UInt8(ascii: "=") ? 2 : 1) : 0
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 4 * 3)
        var index = 0
        while index < input.count {
            var n: UInt32 = 0
            for offset in 0..<4 {
                let byte = input[index + offset]
                let isPadding = index + 4 == input.count && offset >= 4 - padding
                guard let value = isPadding ? 0 : sextet(byte) else { return nil }
                n = n << 6 | UInt32(value)
            }
            output.append(UInt8(n >> 16 & 0xFF))
            if !(index + 4 == input.count && padding == 2) { output.append(UInt8(n >> 8 & 0xFF)) }
            if !(index + 4 == input.count && padding >= 1) { output.append(UInt8(n & 0xFF)) }
            index += 4
        }
        return output
    }

    /// The text of `decode`, or nil when it is not base64 or not UTF-8.
    public static func decodeUTF8(_ text: String) -> String? {
        decode(text).flatMap { String(validating: $0, as: UTF8.self) }
    }

    private static func sextet(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): byte - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }
}
