/// How a message body is delimited (RFC 9112 §6.3).
enum BodyFraming: Sendable, Equatable {
    case none
    case length(Int)
    case chunked
    /// Responses only: the body runs until the server closes the connection.
    case untilClose
}

enum MessageFraming {
    /// Reads `Content-Length` / `Transfer-Encoding`. Rejects what RFC 9112 §6.3 calls unrecoverable
    /// framing errors: both headers at once (the classic request-smuggling setup), differing
    /// duplicate lengths, non-digit lengths, and codings other than a final `chunked`.
    /// - Parameter maxBodyBytes: a declared length above this throws 413 before any body byte is read.
    static func framing(of headers: HTTPHeaders, maxBodyBytes: Int, isRequest: Bool) throws(HTTPParseError) -> BodyFraming {
        let transferEncodings = headers.values(for: "Transfer-Encoding")
        let contentLengths = headers.values(for: "Content-Length")
        if !transferEncodings.isEmpty {
            if !contentLengths.isEmpty {
                throw .badRequest("both Content-Length and Transfer-Encoding present (refused: request smuggling risk)")
            }
            let codings = transferEncodings.flatMap { $0.split(separator: ",") }
                .map { $0.trimmingWhitespace().lowercased() }
            guard codings.last == "chunked" else {
                // A request without final chunked cannot be delimited; a response then reads until close.
                if isRequest { throw .badRequest("Transfer-Encoding \(transferEncodings.joined(separator: ", ")) does not end in chunked") }
                return .untilClose
            }
            guard codings.count == 1 else {
                throw HTTPParseError(status: 501, reason: "Transfer-Encoding \(transferEncodings.joined(separator: ", ")) is not supported; only chunked is")
            }
            return .chunked
        }
        guard !contentLengths.isEmpty else { return isRequest ? .none : .untilClose }
        var length: Int?
        for field in contentLengths {
            // "Content-Length: 5, 5" is tolerated when every member is the same (RFC 9110 §8.6).
            for member in field.split(separator: ",", omittingEmptySubsequences: false) {
                let value = try parseLength(member.trimmingWhitespace(), maxBodyBytes: maxBodyBytes)
                if let length, length != value {
                    throw .badRequest("conflicting Content-Length values \(contentLengths.joined(separator: ", "))")
                }
                length = value
            }
        }
        guard let length else { throw .badRequest("empty Content-Length") }
        return length == 0 && isRequest ? .none : .length(length)
    }

    private static func parseLength(_ text: Substring, maxBodyBytes: Int) throws(HTTPParseError) -> Int {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            throw .badRequest("invalid Content-Length \(FieldLineParser.preview(ArraySlice(text.utf8.prefix(40))))")
        }
        // More digits than maxBodyBytes has means it is larger; avoid Int overflow on absurd values.
        guard text.utf8.count <= String(maxBodyBytes).utf8.count, let value = Int(text), value <= maxBodyBytes else {
            throw .bodyTooLarge(limit: maxBodyBytes)
        }
        return value
    }

    /// True if a comma-separated `Connection` header lists `token`.
    static func connectionHas(_ headers: HTTPHeaders, _ token: String) -> Bool {
        headers.values(for: "Connection").contains { value in
            value.split(separator: ",").contains { $0.trimmingWhitespace().caseInsensitiveEquals(token) }
        }
    }

    /// Parses "HTTP/1.1". Returns nil when the bytes are not an HTTP-version at all.
    static func parseVersion(_ bytes: ArraySlice<UInt8>) -> HTTPVersion? {
        guard bytes.count == 8, bytes.starts(with: "HTTP/".utf8) else { return nil }
        let major = bytes[bytes.startIndex + 5], dot = bytes[bytes.startIndex + 6], minor = bytes[bytes.startIndex + 7]
        guard (0x30...0x39).contains(major), dot == UInt8(ascii: "."), (0x30...0x39).contains(minor) else { return nil }
        return HTTPVersion(major: Int(major - 0x30), minor: Int(minor - 0x30))
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> Substring {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}

extension String {
    func caseInsensitiveEquals(_ other: Substring) -> Bool { caseInsensitiveEquals(String(other)) }
}
extension Substring {
    func caseInsensitiveEquals(_ other: String) -> Bool { String(self).caseInsensitiveEquals(other) }
}
