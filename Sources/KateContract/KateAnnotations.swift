/// The keys of the contract between kate's webhook, its sweeper and its Helm chart: the webhook writes them on the
/// pods it pins, the sweeper reads them back, the chart's selectors name them. Spelled here and nowhere else.
public enum KateAnnotations {
    /// Annotation: a JSON object, container key → the image as the user wrote it (the tag the sweeper tracks).
    /// Read and written only through `OriginalImages`.
    public static let originalImages = "kate.dev/original-images"
    /// Annotation: RFC 3339 UTC time the webhook pinned the pod.
    public static let resolvedAt = "kate.dev/resolved-at"
    /// Label or annotation on a pod, a workload or (label) a namespace: `true` leaves it alone. Decided only by
    /// `OptOut`.
    public static let skip = "kate.dev/skip"
    /// Label on a namespace: `true` lets the webhook pin pods owned by operators (non-built-in controller kinds) there.
    /// Decided only by `OperatorOwnership`.
    public static let pinOperatorOwned = "kate.dev/pin-operator-owned"
    /// Annotation on a workload the sweeper restarted: `<restartedAt value it wrote> generation=<generation before>`,
    /// written in the restart's own patch. The next sweep compares it with the pod template (or `spec.restartAt`) to
    /// tell a restart that is still rolling from one another field manager reverted. Read and written only through
    /// the sweeper's `RestartRecord`.
    public static let restart = "kate.dev/restart"
    /// Annotation on a namespace: the sweeper's maintenance windows for its pods (`Sat 02:00-04:00 Europe/Berlin`,
    /// several separated by `;`), replacing `--window` there. Read only by the sweeper's `WindowGate`.
    public static let window = "kate.dev/window"
    /// Label on a namespace: the cooldown for its pods (a Go duration, `72h`; `0` turns it off), replacing
    /// `--cooldown` there. Decided only by `Cooldown`.
    public static let cooldown = "kate.dev/cooldown"
}
