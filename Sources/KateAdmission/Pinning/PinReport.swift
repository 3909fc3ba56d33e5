/// What one review came to: the answer, and what the log line and metrics report.
public struct PinReport: Sendable {
    public var response: AdmissionResponse
    public var outcome: AdmissionOutcome
    /// Per image, for the log line.
    public var images: [ImageOutcome]
    public var pinnedImages: Int
    public var failures: [ResolutionFailure]
    /// Why nothing was done, when nothing was done.
    public var note: String?
}

/// What happened to one container's image; formatted only if the log line is written.
public struct ImageOutcome: Sendable, CustomStringConvertible {
    public var container: String
    /// The pinned image, or the original one when it could not be pinned.
    public var image: String
    public var source: DigestResolution.Source?
    public var failure: String?

    /// `app=nginx:1.27@sha256:… (registry)` or `app=nginx:1.27 failed: registry timed out`.
    public var description: String {
        if let failure { return "\(container)=\(image) failed: \(failure)" }
        return "\(container)=\(image) (\(source?.rawValue ?? "?"))"
    }
}
