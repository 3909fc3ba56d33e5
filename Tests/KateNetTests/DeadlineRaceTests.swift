import Synchronization
import Testing

@testable import KateNet

@Suite("withDeadline (the one deadline race)")
struct DeadlineRaceTests {
    struct Boom: Error, Equatable {}

    @Test("the operation's result when it finishes first")
    func operationFirst() async throws {
        #expect(await withDeadline(.now + .seconds(10)) { 42 } == 42)
        let thrown: Int? = try await withDeadline(.now + .seconds(10)) { () async throws -> Int in 7 }
        #expect(thrown == 7)
    }

    @Test("nil at the deadline, and the operation is cancelled at once rather than awaited to its end")
    func deadlineFirst() async throws {
        let sawCancellation = Mutex(false)
        let started = ContinuousClock.now
        let result: Int? = await withDeadline(.now + .milliseconds(100)) {
            do {
                try await sleepCancellably(until: .now + .seconds(30))
            } catch {
                sawCancellation.withLock { $0 = true }
            }
            return 1
        }
        #expect(result == nil)
        #expect(sawCancellation.withLock { $0 })
        #expect(ContinuousClock.now - started < .seconds(5))
        let thrown: Int? = try await withDeadline(.now + .milliseconds(50)) { () async throws -> Int in
            try await sleepCancellably(until: .now + .seconds(30))
            return 1
        }
        #expect(thrown == nil)
    }

    @Test("the throwing form rethrows an error that comes before the deadline")
    func errorBeforeDeadline() async {
        await #expect(throws: Boom()) {
            _ = try await withDeadline(.now + .seconds(10)) { () async throws -> Int in throw Boom() }
        }
    }

    @Test("cancelling the caller ends the race at once")
    func callerCancelled() async {
        let race = Task { await withDeadline(.now + .seconds(30)) { () async -> Int in
            try? await sleepCancellably(until: .now + .seconds(30))
            return 1
        } }
        try? await Task.sleep(for: .milliseconds(50))
        let cancelled = ContinuousClock.now
        race.cancel()
        _ = await race.value
        #expect(ContinuousClock.now - cancelled < .seconds(5))
    }
}
