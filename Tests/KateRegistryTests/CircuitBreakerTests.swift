import Foundation
import KateRegistry
import Testing

/// The breaker as a pure state machine, driven by a fake clock.
@Suite("Circuit breaker state machine (fake clock)")
struct CircuitBreakerTests {
    let t0 = ContinuousClock.now
    let wall = Date(timeIntervalSince1970: 1_800_000_000)
    let policy = CircuitBreakerPolicy(failureThreshold: 3, initialBackoff: .seconds(1), maxBackoff: .seconds(30), probeLease: .seconds(20))

    func at(_ seconds: Double) -> ContinuousClock.Instant { t0 + .milliseconds(Int64(seconds * 1000)) }

    func fail(_ breaker: inout CircuitBreaker, at seconds: Double, timeout: Bool = false) -> CircuitBreaker.Transition? {
        breaker.recordFailure("refused", opensAtOnce: timeout, now: at(seconds), wallClock: wall.addingTimeInterval(seconds))
    }

    func isRejected(_ admission: CircuitBreaker.Admission) -> Bool {
        if case .reject = admission { return true }
        return false
    }

    @Test("opens after N consecutive transport failures, not before; an answer in between resets the count")
    func opensAfterThreshold() {
        var breaker = CircuitBreaker(policy: policy)
        #expect(fail(&breaker, at: 0) == nil)
        #expect(fail(&breaker, at: 0.1) == nil)
        #expect(breaker.recordAnswer(now: at(0.2)) == nil, "an answer while closed is no transition")
        #expect(breaker.consecutiveFailures == 0)
        #expect(fail(&breaker, at: 0.3) == nil)
        #expect(fail(&breaker, at: 0.4) == nil)
        #expect(breaker.state == .closed)
        #expect(breaker.admit(now: at(0.45)).0 == .proceed)
        #expect(fail(&breaker, at: 0.5) == .opened)
        #expect(breaker.state == .open)
        #expect(breaker.unreachableSince == wall.addingTimeInterval(0.3), "since the first failure of the current run")
    }

    @Test("a timeout opens the circuit at once")
    func timeoutOpensAtOnce() {
        var breaker = CircuitBreaker(policy: policy)
        #expect(fail(&breaker, at: 0, timeout: true) == .opened)
        #expect(breaker.state == .open)
    }

    @Test("a lookup's claim past the backoff makes it the probe in the same step: every later claim is rejected, and only its ticket's first request goes out")
    func claimIsTheProbe() throws {
        var breaker = CircuitBreaker(policy: policy)
        _ = fail(&breaker, at: 0, timeout: true)
        guard case .reject = breaker.claim(now: at(0.5)).0 else { Issue.record("claimed during the backoff"); return }
        let (first, transition) = breaker.claim(now: at(1.0))
        guard case .probe(let ticket) = first else { Issue.record("no probe after the backoff: \(first)"); return }
        #expect(transition == .halfOpened)
        #expect(breaker.state == .halfOpen)
        for later in [1.0, 1.001, 5.0] {
            guard case .reject = breaker.claim(now: at(later)).0 else { Issue.record("a second lookup claimed at \(later) s"); return }
        }
        #expect(isRejected(breaker.admit(now: at(1.01)).0), "a request without the ticket is not the probe")
        #expect(isRejected(breaker.admit(now: at(1.01), ticket: ticket &+ 1).0), "nor one with another ticket")
        #expect(breaker.admit(now: at(1.02), ticket: ticket).0 == .probe)
        #expect(isRejected(breaker.admit(now: at(1.03), ticket: ticket).0), "the ticket admits one request")
        #expect(fail(&breaker, at: 1.5) == .reopened)
        breaker.release(ticket: ticket, now: at(1.6))
        #expect(breaker.state == .open, "releasing a spent ticket changes nothing")
    }

    @Test("a claimed probe whose request never goes out is released: the next lookup may probe at once")
    func unusedClaimIsReleased() throws {
        var breaker = CircuitBreaker(policy: policy)
        _ = fail(&breaker, at: 0, timeout: true)
        guard case .probe(let ticket) = breaker.claim(now: at(1.0)).0 else { Issue.record("no probe"); return }
        breaker.release(ticket: ticket, now: at(1.1))
        #expect(breaker.state == .open)
        guard case .probe(let next) = breaker.claim(now: at(1.1)).0 else { Issue.record("the released probe was not offered again"); return }
        #expect(next != ticket)
        breaker.release(ticket: ticket, now: at(1.2))
        #expect(breaker.state == .halfOpen, "a stale ticket cannot release the current probe")
    }

    @Test("open rejects until the backoff, then admits exactly one probe; the others are rejected while it runs")
    func halfOpenProbe() throws {
        var breaker = CircuitBreaker(policy: policy)
        _ = fail(&breaker, at: 0, timeout: true)
        let (early, noTransition) = breaker.admit(now: at(0.999))
        guard case .reject(let outage) = early else { Issue.record("expected a rejection, got \(early)"); return }
        #expect(noTransition == nil)
        #expect(outage.since == wall)
        #expect(outage.failures == 1)
        #expect(outage.lastFailure == "refused")
        #expect(outage.retryAt == at(1))
        let (probe, transition) = breaker.admit(now: at(1))
        #expect(probe == .probe)
        #expect(transition == .halfOpened)
        #expect(breaker.state == .halfOpen)
        #expect(isRejected(breaker.admit(now: at(1.5)).0), "only one probe at a time")
        #expect(breaker.recordAnswer(now: at(2)) == .closed)
        #expect(breaker.state == .closed)
        #expect(breaker.unreachableSince == nil)
        #expect(breaker.admit(now: at(2)).0 == .proceed)
    }

    @Test("a failed probe re-opens with twice the backoff, capped at maxBackoff; success resets the backoff")
    func backoffGrowsToCap() {
        var breaker = CircuitBreaker(policy: policy)
        _ = fail(&breaker, at: 0, timeout: true)
        var now = 1.0
        let expected = [2.0, 4, 8, 16, 30, 30]
        var backoffs: [Double] = []
        for _ in expected {
            #expect(breaker.admit(now: at(now)).0 == .probe)
            #expect(fail(&breaker, at: now) == .reopened)
            // The next probe is allowed exactly one backoff later.
            var wait = 0.0
            while isRejected(breaker.admit(now: at(now + wait)).0) { wait += 1 }
            #expect(breaker.state == .halfOpen)
            backoffs.append(wait)
            now += wait
            // Undo the probe admission this loop just made, keeping the schedule (a lost probe).
            breaker.abandonProbe(now: at(now))
        }
        #expect(backoffs == expected)
        #expect(breaker.admit(now: at(now)).0 == .probe)
        #expect(breaker.recordAnswer(now: at(now)) == .closed)
        _ = fail(&breaker, at: now + 1, timeout: true)
        #expect(breaker.admit(now: at(now + 1.5)).0 != .probe)
        #expect(breaker.admit(now: at(now + 2)).0 == .probe, "after closing, the backoff starts again at initialBackoff")
    }

    @Test("an abandoned probe lets the next caller probe at once; a lost probe expires after the lease")
    func lostProbes() {
        var breaker = CircuitBreaker(policy: policy)
        _ = fail(&breaker, at: 0, timeout: true)
        #expect(breaker.admit(now: at(1)).0 == .probe)
        breaker.abandonProbe(now: at(1.2))
        #expect(breaker.admit(now: at(1.2)).0 == .probe)
        #expect(isRejected(breaker.admit(now: at(20)).0))
        #expect(breaker.admit(now: at(21.2)).0 == .probe, "a probe that never reported is presumed lost after probeLease")
    }

    @Test("late failures of requests admitted before the circuit opened do not move its schedule")
    func lateFailuresWhileOpen() {
        var breaker = CircuitBreaker(policy: policy)
        _ = fail(&breaker, at: 0, timeout: true)
        #expect(fail(&breaker, at: 0.9) == nil)
        #expect(breaker.admit(now: at(1)).0 == .probe)
    }

    @Test("a disabled breaker never opens")
    func disabled() {
        var breaker = CircuitBreaker(policy: .disabled)
        for i in 0..<10 { #expect(fail(&breaker, at: Double(i), timeout: true) == nil) }
        #expect(breaker.state == .closed)
        #expect(breaker.admit(now: at(10)).0 == .proceed)
    }
}
