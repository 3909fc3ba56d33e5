import Foundation
import KateNet

/// The maturity gate both the webhook and the sweeper apply (`--cooldown`, the namespace label
/// `kate.dev/cooldown`): a digest is adopted only once kate has known it for the cooldown. "Known"
/// is the ledger's `firstSeen` (registries do not say when a tag was pushed, and an image's
/// `created` is whatever the builder wrote, often 1970 for reproducible builds), so the clock
/// starts when any kate replica or sweep first resolved the tag to that digest.
///
/// A tag that moved to a digest kate has not known long enough is not adopted: the webhook pins the
/// tag's newest mature digest instead (the one it would have pinned before the push) and the
/// sweeper reports `cooling-down` without rolling. A compromised or broken push that is fixed or
/// pulled within the cooldown never reaches a pod through kate.
public enum Cooldown {
    public enum Decision: Sendable, Equatable {
        /// Mature (or no cooldown applies).
        case adopt
        /// Too young. `keep` is the tag's newest mature digest (nil: none known, so nothing older
        /// to offer); `firstSeen` is nil when the ledger has never seen this digest (it is first
        /// seen now); `remaining` is how long until it is adopted.
        case hold(keep: ImageTagHistory.DigestRecord?, firstSeen: Date?, remaining: Duration)
    }

    /// The rule: `digest` of the tag whose ledger history is `history` (nil: never recorded), at `now`.
    public static func decide(digest: String, history: ImageTagHistory.Spec?, cooldown: Duration, now: Date) -> Decision {
        guard cooldown > .zero else { return .adopt }
        let firstSeen = history?.record(of: digest)?.firstSeenDate
        let known = firstSeen.map { max(0, now.timeIntervalSince($0)) } ?? 0
        let remaining = cooldown.seconds - known
        if remaining <= 0 { return .adopt }
        let keep = history?.newestDigest(knownFor: cooldown, at: now).flatMap { $0.digest == digest ? nil : $0 }
        return .hold(keep: keep, firstSeen: firstSeen, remaining: .milliseconds(Int64((remaining * 1000).rounded(.up))))
    }

    /// The cooldown a namespace asks for with the label `kate.dev/cooldown` (a Go duration: `72h`,
    /// `30m`; `0` turns it off there): nil when the label is absent.
    /// - Throws: `InvalidLabel` when the value is not a duration (the caller falls back to `--cooldown`
    ///   and says so; a typo must not silently turn the gate off).
    public static func namespaceCooldown(labels: [String: String]?) throws(InvalidLabel) -> Duration? {
        try labels?[KateAnnotations.cooldown].map { value throws(InvalidLabel) in try parse(label: value) }
    }

    /// The value of a `kate.dev/cooldown` label (for a reader that already picked it out of the labels).
    public static func parse(label value: String) throws(InvalidLabel) -> Duration {
        guard let duration = GoDuration.parse(value), duration >= .zero else { throw InvalidLabel(value: value) }
        return duration
    }

    public struct InvalidLabel: Error, Sendable, Equatable, CustomStringConvertible {
        public var value: String
        public init(value: String) { self.value = value }
        public var description: String {
            "namespace label \(KateAnnotations.cooldown)=\(value) is not a duration (write e.g. 72h, 30m, or 0 to turn it off)"
        }
    }

    /// "5m ago" / "not seen before", for warnings and report reasons.
    public static func describe(firstSeen: Date?, now: Date) -> String {
        guard let firstSeen else { return "first seen now" }
        let age = max(0, now.timeIntervalSince(firstSeen))
        return "first seen \(age < 1 ? "<1s" : GoDuration.humanize(.seconds(age))) ago"
    }
}
