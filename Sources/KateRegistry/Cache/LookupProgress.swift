import Synchronization

/// What a lookup is waiting for right now ("no response to HEAD https://…/manifests/v1"), so a
/// caller that gives up — its own deadline, or a concurrent caller sharing the lookup — reports
/// the step that hung instead of "waiting for a concurrent lookup".
///
/// Carried as a task local: `SingleFlight` installs one per shared lookup and the transport
/// writes each step into it. A nested shared lookup (a token fetch) reports to its parent too.
final class LookupProgress: Sendable {
    @TaskLocal static var current: LookupProgress?

    private let step = Mutex<(what: String, since: ContinuousClock.Instant)?>(nil)
    private let parent: LookupProgress?

    init(parent: LookupProgress? = LookupProgress.current) {
        self.parent = parent
    }

    /// Records the step now under way (called by the transport, once per request attempt).
    static func begin(_ what: String) {
        current?.begin(what, at: .now)
    }

    func begin(_ what: String, at now: ContinuousClock.Instant) {
        step.withLock { $0 = (what, now) }
        parent?.begin(what, at: now)
    }

    /// "no response to HEAD https://r/v2/app/manifests/v1 within 8 s"; nil before any step.
    func describe(now: ContinuousClock.Instant = .now) -> String? {
        guard let (what, since) = step.withLock({ $0 }) else { return nil }
        return "\(what) within \(Self.seconds(now - since))"
    }

    /// "8 s", "0.4 s".
    static func seconds(_ duration: Duration) -> String {
        let tenths = (duration.components.seconds * 10) + duration.components.attoseconds / 100_000_000_000_000_000
        return tenths >= 100 || tenths % 10 == 0 ? "\((tenths + 5) / 10) s" : "\(tenths / 10).\(tenths % 10) s"
    }
}
