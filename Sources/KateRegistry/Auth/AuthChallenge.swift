/// One challenge from a `WWW-Authenticate` header (RFC 9110 §11.6.1): a scheme plus either
/// auth-params (`realm="…", service="…"`) or a token68.
public struct AuthChallenge: Sendable, Equatable {
    /// Lowercased scheme: `bearer`, `basic`.
    public var scheme: String
    /// Parameter names lowercased; values unquoted and unescaped.
    public var parameters: [String: String]
    public var token68: String?

    public init(scheme: String, parameters: [String: String] = [:], token68: String? = nil) {
        self.scheme = scheme.lowercased()
        self.parameters = parameters
        self.token68 = token68
    }

    public var realm: String? { parameters["realm"] }
    public var service: String? { parameters["service"] }
    public var scope: String? { parameters["scope"] }

    /// Parses every challenge in every `WWW-Authenticate` value. Malformed trailing input is
    /// ignored rather than fatal: a registry with a sloppy header should still get a token.
    public static func parse(headerValues: [String]) -> [AuthChallenge] {
        headerValues.flatMap { value in
            var scanner = ChallengeScanner(Array(value.utf8))
            return scanner.challenges()
        }
    }
}

/// A hand-written scanner because commas separate both challenges and parameters, and may also
/// appear inside quoted values (`scope="repository:a:pull,push"`).
private struct ChallengeScanner {
    private let bytes: [UInt8]
    private var i = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    private static func isTokenChar(_ c: UInt8) -> Bool {
        // tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
        ReferenceGrammar.isAlnum(c) || Array("!#$%&'*+-.^_`|~".utf8).contains(c)
    }
    private static func isToken68Char(_ c: UInt8) -> Bool { ReferenceGrammar.isAlnum(c) || Array("-._~+/".utf8).contains(c) }

    private var peek: UInt8? { i < bytes.count ? bytes[i] : nil }

    private mutating func skipSpaces() { while let c = peek, c == 0x20 || c == 0x09 { i += 1 } }
    private mutating func skipSpacesAndCommas() { while let c = peek, c == 0x20 || c == 0x09 || c == 0x2C { i += 1 } }

    private mutating func token() -> String? {
        let start = i
        while let c = peek, Self.isTokenChar(c) { i += 1 }
        return i > start ? String(decoding: bytes[start..<i], as: UTF8.self) : nil
    }

    private mutating func quotedString() -> String {
        i += 1  // opening quote
        var out: [UInt8] = []
        while let c = peek {
            i += 1
            if c == 0x22 { break }
            if c == 0x5C, let escaped = peek { out.append(escaped); i += 1; continue }
            out.append(c)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// True when the next token is followed by `=` and a value, i.e. it is a parameter rather than
    /// the scheme of the next challenge.
    private func nextIsParameter() -> Bool {
        var j = i
        while j < bytes.count, Self.isTokenChar(bytes[j]) { j += 1 }
        guard j > i else { return false }
        while j < bytes.count, bytes[j] == 0x20 || bytes[j] == 0x09 { j += 1 }
        return j < bytes.count && bytes[j] == 0x3D
    }

    mutating func challenges() -> [AuthChallenge] {
        var result: [AuthChallenge] = []
        skipSpacesAndCommas()
        while let scheme = token() {
            var challenge = AuthChallenge(scheme: scheme)
            skipSpaces()
            if let t68 = token68IfPresent() {
                challenge.token68 = t68
            } else {
                parameters(into: &challenge)
            }
            result.append(challenge)
            skipSpacesAndCommas()
        }
        return result
    }

    /// `Basic dXNlcjpwYXNz==`: token68 chars, optional `=` padding, then end or a comma.
    private mutating func token68IfPresent() -> String? {
        var j = i
        while j < bytes.count, Self.isToken68Char(bytes[j]) { j += 1 }
        guard j > i else { return nil }
        var k = j
        while k < bytes.count, bytes[k] == 0x3D { k += 1 }
        var end = k
        while end < bytes.count, bytes[end] == 0x20 || bytes[end] == 0x09 { end += 1 }
        // `realm="x"` has '=' followed by a value, so it is a parameter, not a token68.
        guard end == bytes.count || bytes[end] == 0x2C else { return nil }
        let value = String(decoding: bytes[i..<k], as: UTF8.self)
        i = k
        return value
    }

    private mutating func parameters(into challenge: inout AuthChallenge) {
        while nextIsParameter() {
            guard let name = token() else { return }
            skipSpaces()
            i += 1  // '='
            skipSpaces()
            let value: String
            if peek == 0x22 { value = quotedString() } else { value = token() ?? "" }
            challenge.parameters[name.lowercased()] = value
            skipSpaces()
            guard peek == 0x2C else { return }
            // A comma ends this parameter; whatever follows is another parameter or the next challenge.
            skipSpacesAndCommas()
        }
    }
}
