/// RFC 8259 string escaping, written once for every JSON document kate writes by hand: admission answers, the
/// `kate.dev/original-images` annotation, log lines. (Foundation's encoders cost tens of microseconds per
/// document and escape `/` as `\/` on Linux.)
public enum JSONEscaping {
    /// Appends `value` as a quoted JSON string.
    public static func appendQuoted(_ value: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        appendEscaped(value.utf8, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    /// Appends UTF-8 text as the inside of a JSON string: `"` and `\` escaped, control bytes as `\n`, `\r`, `\t`
    /// or `\u00XX`; everything else, multi-byte UTF-8 included, as is.
    public static func appendEscaped<Bytes: Sequence<UInt8>>(_ utf8: Bytes, to bytes: inout [UInt8]) {
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                bytes.append(UInt8(ascii: "\\"))
                bytes.append(byte)
            case 0x0A: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "r"))
            case 0x09: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "t"))
            case 0..<0x20:
                bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                bytes.append(hexDigits[Int(byte >> 4)])
                bytes.append(hexDigits[Int(byte & 0x0F)])
            default:
                bytes.append(byte)
            }
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
