import Synchronization
import Testing
@testable import KateNet

@Suite("IO: reactor internals")
struct IOReactorTests {
    @Test("the deadline heap pops in deadline order, also after arbitrary removals")
    func deadlineHeap() {
        var generator = SystemRandomNumberGenerator()
        let base = ContinuousClock.now
        var heap = DeadlineHeap()
        var reference: [UInt64: ContinuousClock.Instant] = [:]
        for id in UInt64(1)...500 {
            let deadline = base + .milliseconds(Int.random(in: 0..<10_000, using: &generator))
            heap.insert(id: id, deadline: deadline)
            reference[id] = deadline
        }
        for id in reference.keys.shuffled().prefix(200) {
            heap.remove(id: id)
            reference[id] = nil
        }
        heap.remove(id: 9999)  // unknown ids are ignored
        #expect(heap.count == reference.count)
        var popped: [UInt64] = []
        var now = base
        while !heap.isEmpty {
            now = now + .milliseconds(100)
            popped += heap.popExpired(now: now)
        }
        let expectedOrder = reference.sorted { $0.value < $1.value }.map(\.value)
        #expect(popped.compactMap { reference[$0] } == expectedOrder)
        #expect(Set(popped) == Set(reference.keys))
    }

    @Test("an earlier deadline registered while the epoll thread sleeps toward a later one still fires on time (eventfd wake-up)")
    func earlierDeadlineWakesTheLoop() async throws {
        let listener = try TCPListener(host: "127.0.0.1", port: 0)
        defer { listener.close() }
        var pairs: [(TCPStream, TCPStream)] = []
        for _ in 0..<2 {
            async let accepted = listener.accept()
            let client = try await TCPStream.connect(host: "127.0.0.1", port: listener.localPort, deadline: NetIOTest.deadline())
            let server = try await accepted
            pairs.append((client, server))
        }
        let (slow, fast) = (pairs[0].0, pairs[1].0)
        let slowRead = Task { try await slow.read(maxBytes: 1, deadline: .now + .seconds(60)) }
        #expect(await NetIOTest.eventually { slow.handle.hasWaiter(for: .read) })
        let (elapsed, error) = await measureFailure { _ = try await fast.read(maxBytes: 1, deadline: .now + .milliseconds(150)) }
        #expect((error as? NetError)?.kind == .timedOut)
        #expect(elapsed < .seconds(10), "woke after \(elapsed)")
        slowRead.cancel()
        _ = await slowRead.result
        for (client, server) in pairs {
            await client.close()
            await server.close()
        }
    }

    @Test("closing a stream fails the task parked in read with .closed")
    func closeFailsParkedReader() async throws {
        let (client, server, _) = try await NetIOTest.connectedPair()
        let reader = Task { try await server.read(maxBytes: 10, deadline: .now + .seconds(30)) }
        #expect(await NetIOTest.eventually { server.handle.hasWaiter(for: .read) })
        await server.close()
        let result = await reader.result
        #expect(throws: NetError.self) { try result.get() }
        if case .failure(let error) = result { #expect((error as? NetError)?.kind == .closed) }
        await #expect(throws: NetError.self) { _ = try await server.read(maxBytes: 1, deadline: NetIOTest.deadline()) }
        await client.close()
    }

    @Test("two tasks parked for the same readiness are both woken: one gets the data, the other parks again")
    func twoReadersBothWoken() async throws {
        let (client, server, _) = try await NetIOTest.connectedPair()
        let first = Task { try await client.read(maxBytes: 10, deadline: .now + .seconds(30)) }
        let second = Task { try await client.read(maxBytes: 10, deadline: .now + .seconds(30)) }
        #expect(await NetIOTest.eventually { client.handle.waiterCount(for: .read) == 2 })
        try await server.write([1, 2], deadline: NetIOTest.deadline())
        #expect(await NetIOTest.eventually { client.handle.waiterCount(for: .read) == 1 }, "the loser parks again")
        await server.close()
        let results = [try await first.value, try await second.value].sorted { $0.count < $1.count }
        #expect(results == [[], [1, 2]])
        await client.close()
    }
}
