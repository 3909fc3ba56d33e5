import KateNet

/// Content digests: `sha256:` + lowercase hex of the exact bytes (never re-serialised JSON).
/// The one digest helper of the registry client and its test support.
public enum Digest {
    public static func sha256Hex(_ bytes: [UInt8]) -> String { SHA256.hex(bytes) }
    public static func sha256(_ bytes: [UInt8]) -> String { "sha256:" + sha256Hex(bytes) }

    /// `sha256:` and 64 lowercase hex digits: the only digest form kate pins or trusts from a
    /// `Docker-Content-Digest` header.
    public static func isSHA256(_ value: String) -> Bool {
        guard value.hasPrefix("sha256:") else { return false }
        let hex = value.utf8.dropFirst(7)
        return hex.count == 64 && hex.allSatisfy(ReferenceGrammar.isLowerHex)
    }

    /// `sha256:0123456789ab`: enough to tell digests apart in a warning or a table column (JSON
    /// output keeps the full digest); a value of another form is returned as is.
    public static func short(_ value: String) -> String {
        value.hasPrefix("sha256:") ? String(value.prefix(7 + 12)) : value
    }
}
