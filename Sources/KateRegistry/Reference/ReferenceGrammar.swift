/// The pieces of the distribution/reference grammar, as byte-level checks (no regex engine: these
/// run on every admission request and must never backtrack badly on hostile input).
enum ReferenceGrammar {
    static let maxTagLength = 128
    static let maxNameLength = 255

    static func isLowerAlnum(_ c: UInt8) -> Bool { (c >= 0x61 && c <= 0x7A) || isDigit(c) }
    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    static func isUpper(_ c: UInt8) -> Bool { c >= 0x41 && c <= 0x5A }
    static func isAlnum(_ c: UInt8) -> Bool { isLowerAlnum(c) || isUpper(c) }
    static func isHex(_ c: UInt8) -> Bool { isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46) }
    static func isLowerHex(_ c: UInt8) -> Bool { isDigit(c) || (c >= 0x61 && c <= 0x66) }
    /// `\w` in Go's RE2: ASCII letters, digits and underscore.
    static func isWord(_ c: UInt8) -> Bool { isAlnum(c) || c == 0x5F }

    /// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`: separators never lead, trail or mix
    /// (`a..b`, `a._b` are invalid; `a__b` and `a---b` are fine).
    static func isPathComponent(_ s: Substring) -> Bool {
        let bytes = Array(s.utf8)
        guard let first = bytes.first, let last = bytes.last, isLowerAlnum(first), isLowerAlnum(last) else { return false }
        var i = 0
        while i < bytes.count {
            if isLowerAlnum(bytes[i]) { i += 1; continue }
            var j = i
            while j < bytes.count, !isLowerAlnum(bytes[j]) { j += 1 }
            let separator = bytes[i..<j]
            let valid = separator.elementsEqual([0x2E]) || separator.elementsEqual([0x5F])
                || separator.elementsEqual([0x5F, 0x5F]) || separator.allSatisfy { $0 == 0x2D }
            guard valid else { return false }
            i = j
        }
        return true
    }

    /// `[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]`
    static func isDomainLabel(_ s: Substring) -> Bool {
        let bytes = Array(s.utf8)
        guard let first = bytes.first, let last = bytes.last, isAlnum(first), isAlnum(last) else { return false }
        return bytes.allSatisfy { isAlnum($0) || $0 == 0x2D }
    }

    /// `[\w][\w.-]{0,127}`, length checked separately so the error can say which rule failed.
    static func isTag(_ s: Substring) -> Bool {
        let bytes = Array(s.utf8)
        guard let first = bytes.first, isWord(first) else { return false }
        return bytes.allSatisfy { isWord($0) || $0 == 0x2E || $0 == 0x2D }
    }

    /// `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*`
    static func isDigestAlgorithm(_ s: Substring) -> Bool {
        for part in s.split(omittingEmptySubsequences: false, whereSeparator: { "-_+.".contains($0) }) {
            let bytes = Array(part.utf8)
            guard let first = bytes.first, isAlnum(first), !isDigit(first), bytes.allSatisfy(isAlnum) else { return false }
        }
        return true
    }

    /// Hex lengths of the algorithms OCI registers; other algorithms cannot be verified by kate.
    static let digestHexLength: [String: Int] = ["sha256": 64, "sha384": 96, "sha512": 128]
}
