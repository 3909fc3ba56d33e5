import Foundation
import KateContract
import KateNet
import KateRegistry
import Logging

/// The webhook's side of the cooldown (`--cooldown`, KateContract's `Cooldown` rule): a tag that
/// resolved to a digest kate has known for less than the cooldown is pinned to the tag's newest
/// mature digest from the ledger instead, with a warning; with none known it is pinned as resolved,
/// with a warning that says so. Every digest a review resolved that the replica's ledger copy does
/// not know is noted for the ledger (off the admission path), which starts its clock.
///
/// Cost on a cached review: one dictionary lookup in the ledger copy per image; no request.
public final class CooldownGate: Sendable {
    public let cooldown: Duration
    private let copy: any DigestHistoryReading
    private let recorder: LedgerRecorder?
    private let namespaces: (any NamespaceOptOutChecking)?

    /// - Parameters:
    ///   - cooldown: `--cooldown`; a namespace's `kate.dev/cooldown` label replaces it there.
    ///   - copy: this replica's watch-backed ledger copy.
    ///   - recorder: where new digests are noted (nil: the copy is only read, as in tests).
    ///   - namespaces: the namespace label reader (nil: `cooldown` everywhere).
    public init(cooldown: Duration, copy: any DigestHistoryReading, recorder: LedgerRecorder?, namespaces: (any NamespaceOptOutChecking)?) {
        self.cooldown = cooldown
        self.copy = copy
        self.recorder = recorder
        self.namespaces = namespaces
    }

    /// Applies the gate to one review's resolutions in place and returns its warnings.
    /// - Parameter record: false for dry runs (they leave no state behind, the ledger included).
    func apply(
        to results: inout [ImageReference: Result<DigestResolution, ResolutionFailure>], namespace: String, now: Date, record: Bool, logger: Logger
    ) async -> [String] {
        var warnings: [String] = []
        var cooldown = self.cooldown
        switch await namespaces?.cooldown(namespace: namespace, logger: logger) {
        case .success(let duration): cooldown = duration
        case .failure(let invalid):
            // Within the 120 characters of a warning; the log line and the sweeper's report give the whole fix.
            warnings.append(WarningText.truncate(
                "namespace label \(KateAnnotations.cooldown)=\(invalid.value) is not a duration; --cooldown \(GoDuration.humanize(self.cooldown)) applies"))
        case nil: break
        }
        let synced = copy.isSynced
        // Warnings per image, sorted once at the end (when there are any): sorting every review's results by name was
        // about a quarter of the gate's cost in the steady state, where no image has a warning (bench-ledger).
        var imageWarnings: [(image: String, text: String)] = []
        for (reference, result) in results {
            guard case .success(let resolution) = result else { continue }
            let key = LedgerKey.reference(reference)
            // One read of the copy serves the recorder and the rule.
            let history = copy.history(of: key)
            if record { recorder?.note(reference: key, digest: resolution.digest, known: history) }
            guard cooldown > .zero else { continue }
            guard synced else {
                // Before the first list every digest would look new: pin as resolved and say the gate was not applied.
                imageWarnings.append((reference.original, WarningText.compose(image: reference.original, "cooldown not checked: the digest ledger is still loading")))
                continue
            }
            let decision = Cooldown.decide(digest: resolution.digest, history: history, cooldown: cooldown, now: now)
            guard case .hold(let keep, let firstSeen, let remaining) = decision else { continue }
            let new = Digest.short(resolution.digest)
            let age = Cooldown.describe(firstSeen: firstSeen, now: now)
            let wait = GoDuration.humanize(remaining)
            if let keep {
                results[reference] = .success(DigestResolution(digest: keep.digest, resolvedAt: resolution.resolvedAt, source: .cache))
                imageWarnings.append((reference.original, WarningText.compose(
                    image: reference.original, "kept \(Digest.short(keep.digest)): new \(new) \(age), adopted in \(wait) (cooldown)")))
            } else {
                imageWarnings.append((reference.original, WarningText.compose(
                    image: reference.original, "\(new) \(age), younger than the cooldown; no older digest known, pinned it")))
            }
            logger.debug("cooldown hold", metadata: ["image": "\(reference)", "digest": "\(resolution.digest)", "kept": "\(keep?.digest ?? "none")"])
        }
        return warnings + imageWarnings.sorted { $0.image < $1.image }.map(\.text)
    }
}
