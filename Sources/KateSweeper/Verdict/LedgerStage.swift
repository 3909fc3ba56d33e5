import Foundation
import KateContract
import KateNet
import Logging

/// `kate sweep --ledger`: what the sweep does with kate's digest ledger (ImageTagHistory objects).
public struct SweepLedgerOptions: Sendable {
    public var ledger: DigestLedger
    /// `--cooldown`; a namespace's `kate.dev/cooldown` label replaces it there. Zero: off.
    public var cooldown: Duration
    /// `--ledger-retention`: a tag no swept pod uses and no kate has seen for this long is forgotten
    /// (only by a sweep of every namespace without a selector, which sees every pod). Nil: never.
    public var retention: Duration?

    public init(ledger: DigestLedger, cooldown: Duration = .zero, retention: Duration? = .seconds(7 * 86_400)) {
        self.ledger = ledger
        self.cooldown = cooldown
        self.retention = retention
    }
}

/// The ledger as one sweep uses it: read once at the start (the histories are the cooldown's
/// clock), written after the registry answered (each tag's current digest, so the clock of a digest
/// no webhook has seen yet starts at this sweep), and garbage-collected at the end.
struct LedgerStage: Sendable {
    let options: SweepLedgerOptions
    let concurrency: Int
    let logger: Logger

    /// The ledger as read at the start of the sweep.
    struct Snapshot: Sendable {
        var histories: [ImageTagHistory] = []
        var byReference: [String: ImageTagHistory.Spec] = [:]
        /// Why the ledger could not be read (every digest then counts as first seen now).
        var problem: String?
    }

    func load() async -> Snapshot {
        do {
            let histories = try await options.ledger.histories()
            let byReference = Dictionary(histories.map { ($0.spec.reference, $0.spec) }, uniquingKeysWith: { first, _ in first })
            return Snapshot(histories: histories, byReference: byReference)
        } catch {
            return Snapshot(problem: "\(error)")
        }
    }

    /// Each tag's current digest, recorded (a known digest only when its `lastSeen` is older than the
    /// ledger's resolution, so an hourly sweep of a steady cluster writes little). Returns warnings.
    func record(_ current: [String: String], snapshot: Snapshot, now: Date) async -> [String] {
        let resolution = options.ledger.lastSeenResolution
        let bound = options.ledger.maxDigestsPerTag
        let writes = current.sorted { $0.key < $1.key }.filter { reference, digest in
            (snapshot.byReference[reference] ?? ImageTagHistory.Spec(reference: reference))
                .recording(digest: digest, platforms: nil, at: now, keep: bound, resolution: resolution) != nil
        }
        guard !writes.isEmpty else { return [] }
        let ledger = options.ledger
        let failures = await BoundedParallel.map(writes, concurrency: concurrency) { reference, digest -> String? in
            do {
                try await ledger.record(reference: reference, digest: digest, at: now)
                return nil
            } catch {
                return "\(reference): \(error)"
            }
        }.compactMap { $0 }
        guard let first = failures.first else { return [] }
        return ["could not record \(failures.count) of \(writes.count) tags in the digest ledger (first: \(first)); grant the sweeper create/update on imagetaghistories.kate.dev"]
    }

    /// Forgets the histories of tags no swept pod uses and nobody has seen for the retention.
    func collectGarbage(snapshot: Snapshot, inUse: Set<String>, now: Date) async -> [String] {
        guard let retention = options.retention, snapshot.problem == nil else { return [] }
        let cutoff = now.addingTimeInterval(-retention.seconds)
        do {
            let forgotten = try await options.ledger.forget(snapshot.histories) { spec in
                !inUse.contains(spec.reference) && (spec.lastSeenDate ?? .distantPast) < cutoff
            }
            if !forgotten.isEmpty {
                logger.info("ledger: forgot \(forgotten.count) tags no pod uses, unseen for \(GoDuration.humanize(retention))")
            }
            return []
        } catch {
            return ["digest ledger garbage collection failed: \(error); grant the sweeper delete on imagetaghistories.kate.dev"]
        }
    }
}

/// The sweeper's side of the cooldown (KateContract's `Cooldown` rule): a stale container whose roll
/// would bring a digest kate has not known for the cooldown is `cooling-down`, not rolled.
enum CooldownHold {
    /// - Parameter cooldownFor: the cooldown that applies in a namespace.
    static func mark(
        _ findings: inout [Finding], snapshot: LedgerStage.Snapshot, cooldownFor: (String) -> Duration, now: Date
    ) {
        for index in findings.indices {
            let judgement = findings[index].judgement
            let target = findings[index].target
            // A restart brings the tag's current digest; a pod already pinned to it adopts nothing new.
            guard judgement.verdict.isStale, let current = judgement.currentDigest, current != target.pinnedDigest,
                let image = target.tracking.image
            else { continue }
            let cooldown = cooldownFor(target.pod.namespace)
            let reference = LedgerKey.reference(canonicalName: image.canonicalName, tag: image.tag)
            let decision = Cooldown.decide(digest: current, history: snapshot.byReference[reference], cooldown: cooldown, now: now)
            guard case .hold(_, let firstSeen, let remaining) = decision else { continue }
            var held = judgement
            held.verdict = .coolingDown
            let was = judgement.reason.map { " (\($0))" } ?? ""
            held.reason = "\(image.display) moved to \(ImageDigest.short(current)), \(Cooldown.describe(firstSeen: firstSeen, now: now)); "
                + "rolled once known for the cooldown (\(GoDuration.humanize(cooldown))), in \(GoDuration.humanize(remaining))\(was)"
            findings[index].judgement = held
        }
    }
}
