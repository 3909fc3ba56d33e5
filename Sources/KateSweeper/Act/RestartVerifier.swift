import Foundation
import Logging

/// What became of a restart checked within the sweep (`--wait`).
public enum RestartVerification: Sendable, Equatable {
    /// The controller observed the restart and updated the pods.
    case verified
    /// Another field manager took it back; the owner's stale pods are evicted instead.
    case reverted(RestartReversion)
    /// Still rolling when the wait ran out (why); the next sweep checks again.
    case unverified(String)

    /// For the ACTION column, after "restarted Deployment/web; ".
    var text: String {
        switch self {
        case .verified: "verified"
        case .reverted(let reversion): "restart-reverted by \(reversion.manager ?? "an unknown field manager"), evicting"
        case .unverified(let why): "not verified within --wait (\(why)); next sweep checks"
        }
    }
}

/// `--wait`: re-reads the workloads a sweep restarted until each restart progressed (observed
/// generation past the one before, pods updated) or was reverted, or the wait runs out. One pass
/// reads every workload still open, then sleeps a poll interval.
struct RestartVerifier: Sendable {
    let cluster: any SweepCluster
    let wait: Duration
    let pollInterval: Duration
    let logger: Logger

    func verify(_ written: [WorkloadReference: RestartRecord]) async -> [WorkloadReference: RestartVerification] {
        let deadline = ContinuousClock.now.advanced(by: wait)
        var open = written
        var last: [WorkloadReference: String] = [:]
        var settled: [WorkloadReference: RestartVerification] = [:]
        while !open.isEmpty {
            for (reference, record) in open.sorted(by: { $0.key.description < $1.key.description }) {
                do {
                    guard var state = try await cluster.workload(reference) else {
                        last[reference] = "\(reference) no longer exists"
                        continue
                    }
                    // The record went with a wholesale revert: judge by what this sweep wrote.
                    if RestartRecord.on(state) == nil { state.annotations[RestartRecord.annotation] = record.text }
                    switch RestartCheck.check(state) {
                    case .progressed:
                        settled[reference] = .verified
                        open[reference] = nil
                    case .reverted(let reversion):
                        settled[reference] = .reverted(reversion)
                        open[reference] = nil
                    case .rolling(let why):
                        last[reference] = why
                    case .noRecord:
                        last[reference] = "no restart record"
                    }
                } catch is CancellationError {
                    break
                } catch {
                    last[reference] = "cannot read it: \(error)"
                }
            }
            let now = ContinuousClock.now
            guard !open.isEmpty, now < deadline, !Task.isCancelled else { break }
            do {
                try await Task.sleep(for: min(pollInterval, deadline - now))
            } catch {
                break
            }
        }
        for reference in open.keys {
            let why = last[reference] ?? "not checked"
            logger.info("restart of \(reference) not verified within the wait: \(why); the next sweep checks again")
            settled[reference] = .unverified(why)
        }
        return settled
    }
}
