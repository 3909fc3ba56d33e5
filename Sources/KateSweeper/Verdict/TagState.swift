/// What a tag means now, as far as this sweep could learn.
public enum TagState: Sendable, Equatable {
    /// `indexDigest` is what the tag resolves to (an index for multi-arch images); `platformDigests`
    /// are the index's children, fetched only when some running or pinned digest differed from it.
    case resolved(indexDigest: String, platformDigests: Set<String>)
    /// The registry could not answer; the message says why (and is shown to the user).
    case failed(String)

    /// Every digest a node may legitimately report for this tag.
    public var currentDigests: Set<String> {
        guard case .resolved(let index, let platforms) = self else { return [] }
        return platforms.union([index])
    }

    public var indexDigest: String? {
        if case .resolved(let index, _) = self { return index }
        return nil
    }
}
