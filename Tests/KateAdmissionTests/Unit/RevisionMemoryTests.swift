import Foundation
import KateAdmission
import KateRegistry
import Testing

@Suite("One digest per rollout")
struct RevisionMemoryTests {
    /// The example ReplicaSet's second pod: same owner and pod-template-hash.
    static func secondPod(hash: String = "7c5d8f9b6d", dryRun: Bool = false) throws -> [UInt8] {
        try Fixtures.review(Fixtures.podCreate, edits: """
            [{"op":"replace","path":"/request/uid","value":"9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"},
             {"op":"replace","path":"/request/object/metadata/labels/pod-template-hash","value":"\(hash)"},
             {"op":"replace","path":"/request/dryRun","value":\(dryRun)}]
            """)
    }

    @Test("a tag moved between two pods of one ReplicaSet still yields the first digest")
    func sameRevisionSameDigest() async throws {
        let harness = PinHarness(resolver: ExampleImages.resolver())
        let pinner = harness.pinner()
        let first = try await harness.run(try Fixtures.bytes(Fixtures.podCreate), pinner: pinner)
        #expect(first.image("/spec/containers/0/image") == ExampleImages.web + "@" + digest("a"))
        let lookups = harness.resolver.lookups.count

        harness.resolver.setDigest(digest("f"), for: ExampleImages.web)  // the tag moves
        let second = try await harness.run(try Self.secondPod(), pinner: pinner)
        #expect(second.image("/spec/containers/0/image") == ExampleImages.web + "@" + digest("a"))
        #expect(harness.resolver.lookups.count == lookups)

        let nextRollout = try await harness.run(try Self.secondPod(hash: "5f6b7c8d9e"), pinner: pinner)
        #expect(nextRollout.image("/spec/containers/0/image") == ExampleImages.web + "@" + digest("f"))
    }

    @Test("a dry run leaves nothing behind in the memory")
    func dryRunDoesNotRemember() async throws {
        let harness = PinHarness(resolver: ExampleImages.resolver())
        let pinner = harness.pinner()
        let dry = try await harness.run(try Self.secondPod(dryRun: true), pinner: pinner)
        #expect(dry.report.outcome == .pinned)
        #expect(pinner.memory.count == 0)
        harness.resolver.setDigest(digest("f"), for: ExampleImages.web)
        let real = try await harness.run(try Fixtures.bytes(Fixtures.podCreate), pinner: pinner)
        #expect(real.image("/spec/containers/0/image") == ExampleImages.web + "@" + digest("f"))
        #expect(pinner.memory.count == 3)
    }

    @Test("bare pods have no revision")
    func barePod() throws {
        let review = try Fixtures.review(Fixtures.podCreate, edits: #"[{"op":"remove","path":"/request/object/metadata/ownerReferences"}]"#)
        let pod = try #require(try Fixtures.request(review).object)
        #expect(RevisionMemory.revision(of: pod, namespace: "shop") == nil)
        let rsPod = try #require(try Fixtures.request(try Fixtures.bytes(Fixtures.podCreate)).object)
        #expect(RevisionMemory.revision(of: rsPod, namespace: "shop")?.hash == "7c5d8f9b6d")
    }

    @Test("the cache is bounded (least recently used goes first) and entries expire")
    func boundedAndExpiring() {
        let cache = ExpiringCache<String, Int>(capacity: 2, timeToLive: .seconds(10))
        let t0 = ContinuousClock.now
        cache.set(1, for: "a", now: t0)
        cache.set(2, for: "b", now: t0)
        #expect(cache.value(for: "a", now: t0) == 1)  // a is now most recent
        cache.set(3, for: "c", now: t0)  // evicts b
        #expect(cache.value(for: "b", now: t0) == nil)
        #expect(cache.value(for: "a", now: t0) == 1)
        #expect(cache.value(for: "c", now: t0 + .seconds(11)) == nil)
        #expect(cache.count == 1)
    }
}
