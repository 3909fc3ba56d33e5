/// A shell-style pattern for image names: `*` matches any run of characters (slashes
/// included, so `ghcr.io/acme/*` covers nested repositories), `?` matches one character,
/// everything else matches itself. Matching is on UTF-8 bytes, case-sensitive like image names.
public struct GlobPattern: Sendable, Hashable, CustomStringConvertible {
    public let description: String
    private let bytes: [UInt8]

    public init(_ pattern: String) {
        description = pattern
        bytes = Array(pattern.utf8)
    }

    public func matches(_ candidate: String) -> Bool {
        let text = Array(candidate.utf8)
        var p = 0, t = 0
        // Position after the last `*` and the text index it was tried at: on a mismatch the star
        // absorbs one more character (linear-time greedy matching with one backtrack point).
        var starP = -1, starT = 0
        while t < text.count {
            if p < bytes.count, bytes[p] == UInt8(ascii: "*") {
                starP = p
                starT = t
                p += 1
            } else if p < bytes.count, bytes[p] == UInt8(ascii: "?") || bytes[p] == text[t] {
                p += 1
                t += 1
            } else if starP >= 0 {
                p = starP + 1
                starT += 1
                t = starT
            } else {
                return false
            }
        }
        while p < bytes.count, bytes[p] == UInt8(ascii: "*") { p += 1 }
        return p == bytes.count
    }
}
