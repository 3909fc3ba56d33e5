/// Which tag, asked with which credential. The credential identity is part of the key because a
/// digest is itself information: if team A's secret let kate learn `private/app:v2`, serving that
/// digest to a pod in team B (whose secrets grant nothing) would confirm the image exists and pin
/// a pod to content it could never pull. Entries learned without credentials ("anonymous") are
/// public and served to everyone.
struct CacheKey: Hashable, Sendable {
    let registry: String
    let repository: String
    let tag: String
    /// `anonymous` or `Credential.identity`.
    let identity: String

    static let anonymous = "anonymous"
}
