/// kube-apiserver asks webhooks to keep each warning within 120 characters (longer ones may be
/// truncated by clients). The reason is what a user needs, so the image is shortened first.
public enum WarningText {
    public static let limit = 120

    /// `"<image>: <message>"`, shortening the image in the middle (keeping registry and tag
    /// visible) and then, if still needed, the message's end.
    public static func compose(image: String, _ message: String) -> String {
        let full = "\(image): \(message)"
        guard full.count > limit else { return full }
        let roomForImage = limit - message.count - 2
        if roomForImage >= 16 {
            let keep = roomForImage - 1
            let head = image.prefix(keep / 2), tail = image.suffix(keep - keep / 2)
            return "\(head)…\(tail): \(message)"
        }
        return truncate(full)
    }

    public static func truncate(_ text: String) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }
}
