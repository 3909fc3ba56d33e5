/// Whether an object opted out of kate with `kate.dev/skip` — the one rule the webhook and the sweeper share, so a
/// pod the webhook leaves unpinned is never rolled by the sweeper.
///
/// The value `true` opts out in any letter case (`True`, `TRUE`), as a person writes it. The chart's
/// `namespaceSelector`/`objectSelector` can only exclude the exact `true`, so kate applies this rule itself too.
public enum OptOut {
    /// `labels` or `annotations` of one object.
    public static func isOptedOut(_ metadata: [String: String]?) -> Bool {
        guard let value = metadata?[KateAnnotations.skip] else { return false }
        return value.utf8.count == 4 && value.lowercased() == "true"
    }

    /// Why a pod is left alone: its annotation or its label, or nil.
    public static func podReason(annotations: [String: String]?, labels: [String: String]?) -> String? {
        if isOptedOut(annotations) { return "pod annotation \(KateAnnotations.skip)=true" }
        if isOptedOut(labels) { return "pod label \(KateAnnotations.skip)=true" }
        return nil
    }

    /// The namespace's reason, or nil.
    public static func namespaceReason(labels: [String: String]?) -> String? {
        isOptedOut(labels) ? "namespace label \(KateAnnotations.skip)=true" : nil
    }
}
