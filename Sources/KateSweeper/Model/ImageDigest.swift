import KateRegistry

/// The sweeper's report form of a digest that may be absent; the digest rules themselves
/// (`isSHA256`, `short`) are KateRegistry's `Digest`, shared with the webhook.
public enum ImageDigest {
    /// `sha256:0123456789ab`, or `-` for none.
    public static func short(_ value: String?) -> String {
        value.map(Digest.short) ?? "-"
    }
}
