/// Just enough tar and gzip to make real, pullable image layers in tests: a one-file ustar
/// archive, wrapped in gzip with "stored" (uncompressed) deflate blocks.
enum TarGzip {
    /// A ustar archive holding one regular file.
    static func tar(fileName: String, contents: [UInt8]) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ string: String, at offset: Int, width: Int) {
            for (i, byte) in string.utf8.prefix(width).enumerated() { header[offset + i] = byte }
        }
        func octal(_ value: Int, width: Int) -> String {
            let digits = String(value, radix: 8)
            return String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits
        }
        put(fileName, at: 0, width: 100)
        put(octal(0o644, width: 8), at: 100, width: 8)
        put(octal(0, width: 8), at: 108, width: 8)
        put(octal(0, width: 8), at: 116, width: 8)
        put(octal(contents.count, width: 12), at: 124, width: 12)
        put(octal(0, width: 12), at: 136, width: 12)
        put("        ", at: 148, width: 8)  // checksum field counts as spaces while summing
        header[156] = UInt8(ascii: "0")
        put("ustar", at: 257, width: 6)
        put("00", at: 263, width: 2)
        let checksum = header.reduce(0) { $0 + Int($1) }
        put(octal(checksum, width: 7), at: 148, width: 7)
        let padding = (512 - contents.count % 512) % 512
        return header + contents + [UInt8](repeating: 0, count: padding + 1024)
    }

    /// gzip (RFC 1952) of `data` using stored deflate blocks (RFC 1951 §3.2.4).
    static func gzip(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x1F, 0x8B, 0x08, 0, 0, 0, 0, 0, 0, 0xFF]
        var offset = 0
        repeat {
            let size = min(65_535, data.count - offset)
            let last: UInt8 = offset + size >= data.count ? 1 : 0
            out.append(last)
            out += [UInt8(size & 0xFF), UInt8(size >> 8), UInt8(~size & 0xFF), UInt8((~size >> 8) & 0xFF)]
            out += data[offset..<(offset + size)]
            offset += size
        } while offset < data.count
        out += littleEndian(crc32(data)) + littleEndian(UInt32(truncatingIfNeeded: data.count))
        return out
    }

    static func crc32(_ data: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
        }
        return ~crc
    }

    private static func littleEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF), UInt8((value >> 16) & 0xFF), UInt8(value >> 24)]
    }
}
