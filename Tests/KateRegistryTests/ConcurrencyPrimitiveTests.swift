import Synchronization
import Testing

@testable import KateRegistry

@Suite("Singleflight, semaphore and TTL cache")
struct ConcurrencyPrimitiveTests {
    @Test("N concurrent callers of one key share one execution")
    func singleflight() async throws {
        let flights = SingleFlight<String, Int>()
        let executions = TestCounter()
        let gate = AsyncGate()
        let deadline = ContinuousClock.now + .seconds(10)
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    try await flights.run("k", deadline: deadline) {
                        executions.increment()
                        await gate.wait()
                        return 7
                    }
                }
            }
            // Open the gate only once all 50 have joined, so none can start a second flight.
            while flights.callers(for: "k") < 50 { await Task.yield() }
            await gate.open()
            var results: [Int] = []
            for try await value in group { results.append(value) }
            #expect(results == Array(repeating: 7, count: 50))
        }
        #expect(executions.value == 1)
        // Finished flights are forgotten: the next call runs again.
        _ = try await flights.run("k", deadline: deadline) { executions.increment(); return 1 }
        #expect(executions.value == 2)
    }

    @Test("a caller with an earlier deadline stops waiting; the flight continues for the others")
    func earlierDeadline() async throws {
        let flights = SingleFlight<String, Int>()
        let gate = AsyncGate()
        let long = Task { try await flights.run("k", deadline: .now + .seconds(10)) { await gate.wait(); return 1 } }
        while flights.inFlight == 0 { await Task.yield() }
        await #expect(throws: SingleFlightWaitTimedOut.self) {
            try await flights.run("k", deadline: .now + .milliseconds(50)) { 2 }
        }
        await gate.open()
        #expect(try await long.value == 1)
    }

    @Test("errors are shared too")
    func sharedError() async {
        struct Boom: Error {}
        let flights = SingleFlight<String, Int>()
        await #expect(throws: Boom.self) { try await flights.run("k", deadline: .now + .seconds(1)) { throw Boom() } }
    }

    @Test("semaphore bounds concurrency and times out waiters at their deadline")
    func semaphore() async throws {
        let semaphore = AsyncSemaphore(permits: 3)
        let active = TestCounter(), peak = TestCounter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    try await semaphore.withPermit(deadline: .now + .seconds(10)) {
                        peak.max(active.increment())
                        try await Task.sleep(for: .milliseconds(5))
                        active.increment(by: -1)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(peak.value == 3)
        for _ in 0..<3 { try await semaphore.acquire(deadline: .now + .seconds(1)) }
        let started = ContinuousClock.now
        await #expect(throws: AsyncSemaphore.TimedOut.self) { try await semaphore.acquire(deadline: .now + .milliseconds(30)) }
        #expect(ContinuousClock.now - started < .seconds(5))
        semaphore.release()
        try await semaphore.acquire(deadline: .now + .seconds(1))
    }

    @Test("cache entries expire and the cache stays bounded")
    func cache() {
        let cache = ExpiringCache<Int, String>(capacity: 100, timeToLive: .seconds(60))
        let t0 = ContinuousClock.now
        cache.set("a", for: 1, ttl: .seconds(10), now: t0)
        #expect(cache.value(for: 1, now: t0 + .seconds(9)) == "a")
        #expect(cache.value(for: 1, now: t0 + .seconds(11)) == nil)
        for i in 0..<1000 { cache.set("v", for: i, ttl: .seconds(60), now: t0) }
        #expect(cache.count <= 100)
        #expect(cache.value(for: 999, now: t0) == "v")
        #expect(cache.value(for: 0, now: t0) == nil)
    }
}

/// A one-shot event for tests: waiters resume when it opens (no sleeps).
actor AsyncGate {
    private var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiters.append($0) }
    }
    func open() {
        isOpen = true
        waiters.forEach { $0.resume() }
        waiters = []
    }
}

/// A thread-safe integer for counting events across tasks.
final class TestCounter: Sendable {
    private let state = Mutex(0)
    @discardableResult
    func increment(by delta: Int = 1) -> Int { state.withLock { $0 += delta; return $0 } }
    func max(_ candidate: Int) { state.withLock { $0 = Swift.max($0, candidate) } }
    var value: Int { state.withLock { $0 } }
}
