/// kate's version, in one place: the CLI's `--version`, and the `User-Agent` of every request
/// kate sends to registries and to the Kubernetes API.
public enum KateVersion {
    public static let current = "0.1.0"
    /// `kate/0.1.0`.
    public static let userAgent = "kate/\(current)"
}
