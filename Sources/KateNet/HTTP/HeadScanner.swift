/// Finds the end of a message head (start line + field lines + empty line) in a `ByteQueue`,
/// incrementally: bytes are scanned once, however they arrive (one at a time works).
///
/// Lines end in CRLF; a lone LF is accepted as a terminator (RFC 9112 §2.2 allows it), a CR that
/// is not followed by LF is rejected later by field validation.
struct HeadScanner: Sendable {
    /// Lines found so far, as offsets from the queue front, without their terminators.
    private(set) var lines: [Range<Int>] = []
    private var lineStart = 0
    private var scanned = 0

    mutating func reset() {
        lines.removeAll(keepingCapacity: true)
        lineStart = 0
        scanned = 0
    }

    /// True once any byte of the head has been seen (leading empty lines excluded).
    var hasStarted: Bool { scanned > 0 }

    /// Scans new bytes. Returns the total head length (including the final empty line) once the
    /// head is complete, else nil.
    /// - Throws: 431 once the head grows beyond `limit` bytes without ending.
    mutating func scan(_ queue: inout ByteQueue, limit: Int) throws(HTTPParseError) -> Int? {
        while let lf = queue.firstIndex(of: 0x0A, from: scanned) {
            scanned = lf + 1
            var end = lf
            if end > lineStart, queue[end - 1] == 0x0D { end -= 1 }
            if end == lineStart {
                if lines.isEmpty {
                    // RFC 9112 §2.2: ignore empty lines before the start line (some clients send a
                    // stray CRLF after a POST body). Drop them so offsets stay relative to the head.
                    queue.consume(scanned)
                    reset()
                    continue
                }
                if scanned > limit { throw .headerTooLarge(limit: limit) }
                return scanned
            }
            lines.append(lineStart..<end)
            lineStart = scanned
        }
        scanned = queue.count
        if scanned > limit { throw .headerTooLarge(limit: limit) }
        return nil
    }
}

/// Byte classes from RFC 9110 §5.6.2 (token) and §5.5 (field-value).
enum HTTPBytes {
    static let tokenTable: [Bool] = (0..<256).map { b in
        switch UInt8(b) {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(UInt8(b))
        }
    }

    @inline(__always) static func isToken(_ b: UInt8) -> Bool { tokenTable[Int(b)] }

    /// Visible ASCII, SP, HTAB and obs-text; never CR, LF, NUL or other controls.
    @inline(__always) static func isFieldValueByte(_ b: UInt8) -> Bool {
        b == 0x09 || (b >= 0x20 && b != 0x7F)
    }

    @inline(__always) static func isWhitespace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 }

    static func string(_ bytes: ArraySlice<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }
}

/// Parses field lines (`name: value`) of a head into `HTTPHeaders`.
enum FieldLineParser {
    static func parse(_ queue: ByteQueue, lines: ArraySlice<Range<Int>>) throws(HTTPParseError) -> HTTPHeaders {
        var headers = HTTPHeaders()
        for line in lines {
            let bytes = queue.bytes(line)
            let (name, value) = try parseLine(bytes)
            headers.add(name: name, value: value)
        }
        return headers
    }

    static func parseLine(_ bytes: ArraySlice<UInt8>) throws(HTTPParseError) -> (String, String) {
        guard let first = bytes.first else { throw .badRequest("empty header line") }
        if HTTPBytes.isWhitespace(first) {
            // obs-fold (RFC 9112 §5.2): a continuation line. Rejected: proxies disagree on it.
            throw .badRequest("obsolete line folding in header section is not accepted")
        }
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else {
            throw .badRequest("header line without a colon: \(preview(bytes))")
        }
        let nameBytes = bytes[bytes.startIndex..<colon]
        guard !nameBytes.isEmpty else { throw .badRequest("header line with an empty name") }
        for b in nameBytes where !HTTPBytes.isToken(b) {
            if HTTPBytes.isWhitespace(b) {
                // RFC 9112 §5.1: whitespace between name and colon MUST be rejected (smuggling vector).
                throw .badRequest("whitespace before the colon in header \(preview(nameBytes))")
            }
            throw .badRequest("invalid character in header name \(preview(nameBytes))")
        }
        var valueStart = colon + 1
        var valueEnd = bytes.endIndex
        while valueStart < valueEnd, HTTPBytes.isWhitespace(bytes[valueStart]) { valueStart += 1 }
        while valueEnd > valueStart, HTTPBytes.isWhitespace(bytes[valueEnd - 1]) { valueEnd -= 1 }
        let valueBytes = bytes[valueStart..<valueEnd]
        for b in valueBytes where !HTTPBytes.isFieldValueByte(b) {
            throw .badRequest("invalid character (0x\(String(b, radix: 16))) in value of header \(HTTPBytes.string(nameBytes))")
        }
        return (HTTPBytes.string(nameBytes), HTTPBytes.string(valueBytes))
    }

    /// A short printable excerpt for error messages (peers' bytes are not trusted to be text).
    static func preview(_ bytes: ArraySlice<UInt8>) -> String {
        let visible = bytes.prefix(40).map { $0 >= 0x20 && $0 < 0x7F ? Character(UnicodeScalar($0)) : "?" }
        return "\"" + String(visible) + (bytes.count > 40 ? "…" : "") + "\""
    }
}
