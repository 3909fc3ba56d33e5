/// Helpers for `sha256:<64 lowercase hex>` digests.
public enum ImageDigest {
    public static func isSHA256(_ value: String) -> Bool {
        guard value.hasPrefix("sha256:") else { return false }
        let hex = value.utf8.dropFirst(7)
        return hex.count == 64 && hex.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// `sha256:0123456789ab` — what a table column can hold; JSON output keeps the full digest.
    public static func short(_ value: String?) -> String {
        guard let value else { return "-" }
        guard value.hasPrefix("sha256:") else { return value }
        return String(value.prefix(7 + 12))
    }
}
