/// RFC 8259 string escaping, written once for every JSON document kate writes by hand: admission answers, the
/// `kate.dev/original-images` annotation, log lines. (Foundation's encoders cost tens of microseconds per
/// document and escape `/` as `\/` on Linux.)
public enum JSONEscaping {
    /// Appends `text` as a quoted JSON string.
    public static func appendQuoted(_ text: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        appendEscaped(text, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    /// Appends `text` as the inside of a JSON string: `"` and `\` escaped, control bytes as `\n`, `\r`, `\t`, `\b`,
    /// `\f` or `\u00XX`; everything else, multi-byte UTF-8 included, as is (Swift strings are valid UTF-8, so the
    /// output is too). Runs that need no escaping are copied in one go.
    public static func appendEscaped(_ text: String, to bytes: inout [UInt8]) {
        appendEscaping(text, to: &bytes) { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
    }

    /// Appends `text` with only its control bytes escaped as in JSON, so that it never spans two lines (a log
    /// message in the text format).
    public static func appendSingleLine(_ text: String, to bytes: inout [UInt8]) {
        appendEscaping(text, to: &bytes) { $0 < 0x20 }
    }

    @inline(__always)
    private static func appendEscaping(_ text: String, to bytes: inout [UInt8], where needsEscape: (UInt8) -> Bool) {
        var text = text
        text.withUTF8 { utf8 in
            var runStart = 0
            for index in 0..<utf8.count where needsEscape(utf8[index]) {
                if runStart < index { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index])) }
                runStart = index + 1
                appendEscape(utf8[index], to: &bytes)
            }
            if runStart < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...])) }
        }
    }

    private static func appendEscape(_ byte: UInt8, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\\"))
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(byte)
        case 0x0A: bytes.append(UInt8(ascii: "n"))
        case 0x0D: bytes.append(UInt8(ascii: "r"))
        case 0x09: bytes.append(UInt8(ascii: "t"))
        case 0x08: bytes.append(UInt8(ascii: "b"))
        case 0x0C: bytes.append(UInt8(ascii: "f"))
        default:
            bytes.append(UInt8(ascii: "u"))
            bytes.append(UInt8(ascii: "0"))
            bytes.append(UInt8(ascii: "0"))
            bytes.append(hexDigits[Int(byte >> 4)])
            bytes.append(hexDigits[Int(byte & 0x0F)])
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}
