import Logging
import Synchronization

/// What `kate webhook` says at `info` about the reviews it answered: one summary line per
/// interval (default a minute) instead of a line per review, which at thousands of reviews a
/// second would cost more than the reviews themselves. Per-review lines are at `debug`; failures
/// get their own `warning` line; exact counts live in the `kate_admission_*` metrics.
public final class AdmissionSummary: Sendable {
    /// Reviews since the last summary, by outcome.
    public struct Counts: Sendable, Equatable {
        public var reviews = 0
        public var pinned = 0
        public var unchanged = 0
        public var skipped = 0
        public var failedOpen = 0
        public var denied = 0
        public var imagesPinned = 0

        public init(
            reviews: Int = 0, pinned: Int = 0, unchanged: Int = 0, skipped: Int = 0, failedOpen: Int = 0, denied: Int = 0,
            imagesPinned: Int = 0
        ) {
            self.reviews = reviews
            self.pinned = pinned
            self.unchanged = unchanged
            self.skipped = skipped
            self.failedOpen = failedOpen
            self.denied = denied
            self.imagesPinned = imagesPinned
        }

        var metadata: Logger.Metadata {
            [
                "reviews": "\(reviews)", "pinned": "\(pinned)", "unchanged": "\(unchanged)", "skipped": "\(skipped)",
                "failedOpen": "\(failedOpen)", "denied": "\(denied)", "imagesPinned": "\(imagesPinned)",
            ]
        }
    }

    private struct State {
        var counts = Counts()
        var due: ContinuousClock.Instant
    }

    public let interval: Duration
    private let state: Mutex<State>

    public init(interval: Duration = .seconds(60), start: ContinuousClock.Instant = .now) {
        self.interval = interval
        state = Mutex(State(due: start + interval))
    }

    /// Counts one review; returns the counts of the interval (and starts the next one) when a
    /// summary is due at `now`.
    public func record(_ outcome: AdmissionOutcome, imagesPinned: Int, now: ContinuousClock.Instant) -> Counts? {
        state.withLock { state in
            state.counts.reviews += 1
            state.counts.imagesPinned += imagesPinned
            switch outcome {
            case .pinned: state.counts.pinned += 1
            case .unchanged: state.counts.unchanged += 1
            case .skipped: state.counts.skipped += 1
            case .failedOpen: state.counts.failedOpen += 1
            case .denied: state.counts.denied += 1
            }
            guard now >= state.due else { return nil }
            let due = state.counts
            state.counts = Counts()
            state.due = now + interval
            return due
        }
    }
}
