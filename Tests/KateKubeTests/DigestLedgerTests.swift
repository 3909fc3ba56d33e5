import Foundation
import KateContract
import KateKube
import KubeTestServer
import Synchronization
import Testing

@Suite("Digest ledger")
struct DigestLedgerTests {
    static let nginx = "docker.io/library/nginx:1.27"
    static func digest(_ n: Int) -> String { "sha256:" + String(repeating: String(n % 10), count: 64) }
    static let t0 = Date(timeIntervalSince1970: 1_796_000_000)

    // MARK: - The merge, without a server

    @Test("a new digest is recorded first=last seen; a repeat inside the resolution is no write; later it moves lastSeen only")
    func recordingMerge() throws {
        let empty = ImageTagHistory.Spec(reference: Self.nginx)
        let one = try #require(empty.recording(digest: Self.digest(1), platforms: ["linux/amd64", "linux/arm64"], at: Self.t0, keep: 10, resolution: .seconds(60)))
        #expect(one.digests == [.init(digest: Self.digest(1), firstSeen: "2026-11-30T00:53:20Z", lastSeen: "2026-11-30T00:53:20Z", platforms: ["linux/amd64", "linux/arm64"])])
        #expect(one.recording(digest: Self.digest(1), platforms: nil, at: Self.t0 + 30, keep: 10, resolution: .seconds(60)) == nil)
        let later = try #require(one.recording(digest: Self.digest(1), platforms: nil, at: Self.t0 + 90, keep: 10, resolution: .seconds(60)))
        #expect(later.digests[0].firstSeen == "2026-11-30T00:53:20Z" && later.digests[0].lastSeen == "2026-11-30T00:54:50Z")
        #expect(later.digests[0].platforms == ["linux/amd64", "linux/arm64"], "no platforms given keeps the known ones")
    }

    @Test("newest first, bounded to the last N digests")
    func bounded() throws {
        var spec = ImageTagHistory.Spec(reference: Self.nginx)
        for n in 0..<5 {
            spec = try #require(spec.recording(digest: Self.digest(n), platforms: nil, at: Self.t0 + Double(n * 100), keep: 3, resolution: .seconds(60)))
        }
        #expect(spec.digests.map(\.digest) == [Self.digest(4), Self.digest(3), Self.digest(2)])
    }

    @Test("flags, and the newest digest known long enough (a cooldown's pick) skips bad ones")
    func flagsAndMaturity() throws {
        var spec = ImageTagHistory.Spec(reference: Self.nginx)
        for n in 0..<3 {
            spec = try #require(spec.recording(digest: Self.digest(n), platforms: nil, at: Self.t0 + Double(n * 3600), keep: 10, resolution: .seconds(60)))
        }
        let now = Self.t0 + 2 * 3600 + 60
        #expect(spec.newestDigest(knownFor: .seconds(3600), at: now)?.digest == Self.digest(1))
        spec = try #require(spec.flagging(digest: Self.digest(1), ImageTagHistory.Flag.bad))
        #expect(spec.flagging(digest: Self.digest(1), ImageTagHistory.Flag.bad) == nil, "flagging twice is no write")
        #expect(spec.flagging(digest: Self.digest(9), ImageTagHistory.Flag.bad) == nil, "an unknown digest is left alone")
        #expect(spec.newestDigest(knownFor: .seconds(3600), at: now)?.digest == Self.digest(0))
        #expect(spec.newestDigest(knownFor: .seconds(10 * 3600), at: now) == nil)
    }

    @Test("object names are the documented digest of the reference (tag- + 40 hex of its SHA-256): valid DNS names, stable, distinct")
    func names() {
        let name = ImageTagHistory.objectName(for: Self.nginx)
        // `printf %s docker.io/library/nginx:1.27 | sha256sum | cut -c1-40`: what kubectl users and scripts compute.
        #expect(name == "tag-6965a10c15290ad0b29ca7fd1866de1850408b3c")
        #expect(name.count == 44 && name.hasPrefix("tag-") && name.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "-" })
        #expect(name == ImageTagHistory.objectName(for: Self.nginx))
        #expect(name != ImageTagHistory.objectName(for: "docker.io/library/nginx:1.28"))
    }

    // MARK: - Against the API server

    @Test("records create the ImageTagHistory, then update it with resourceVersion preconditions")
    func recordsThroughTheAPI() async throws {
        try await withServer { server in
            let client = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            let ledger = DigestLedger(client: client, namespace: "kate")
            let created = try await ledger.record(reference: Self.nginx, digest: Self.digest(1), platforms: ["linux/amd64"], at: Self.t0)
            #expect(created.metadata.name == ImageTagHistory.objectName(for: Self.nginx))
            let updated = try await ledger.record(reference: Self.nginx, digest: Self.digest(2), at: Self.t0 + 600)
            #expect(updated.spec.digests.map(\.digest) == [Self.digest(2), Self.digest(1)])
            let unchanged = try await ledger.record(reference: Self.nginx, digest: Self.digest(2), at: Self.t0 + 610)
            #expect(unchanged.metadata.resourceVersion == updated.metadata.resourceVersion, "a repeat inside the resolution writes nothing")
            let stored = try #require(server.object(.imageTagHistories, namespace: "kate", name: ImageTagHistory.objectName(for: Self.nginx)))
            #expect(stored["apiVersion"]?.stringValue == "kate.dev/v1alpha1" && stored["kind"]?.stringValue == "ImageTagHistory")
            #expect(stored[path: ["spec", "reference"]]?.stringValue == Self.nginx)
            let puts = server.recordedCalls.filter { $0.method == "PUT" }
            #expect(puts.count == 1)
            #expect(puts.first.map { String(decoding: $0.body, as: UTF8.self).contains(#""resourceVersion":"\#(created.metadata.resourceVersion ?? "")""#) } == true)
            await client.shutdown()
        }
    }

    @Test("replicas recording one tag at once all succeed: a lost race (409) re-reads and merges")
    func concurrentWriters() async throws {
        try await withServer { server in
            let clients = (0..<2).map { _ in KubeClient(configuration: server.clientConfiguration, logger: testLogger) }
            let ledgers = clients.map { DigestLedger(client: $0, namespace: "kate", maxAttempts: 20) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for n in 0..<8 {
                    group.addTask { try await ledgers[n % 2].record(reference: Self.nginx, digest: Self.digest(n), at: Self.t0 + Double(n)) }
                }
                try await group.waitForAll()
            }
            let history = try #require(try await ledgers[0].history(of: Self.nginx))
            #expect(Set(history.spec.digests.map(\.digest)) == Set((0..<8).map(Self.digest)))
            #expect(history.spec.digests.map(\.digest) == (0..<8).reversed().map(Self.digest), "newest first")
            for client in clients { await client.shutdown() }
        }
    }

    @Test("a 409 on update or on create is retried after a fresh read; persistent conflicts end with the error")
    func conflictRetry() async throws {
        try await withServer { server in
            let client = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            let ledger = DigestLedger(client: client, namespace: "kate", maxAttempts: 3)
            server.injectFailure(.status(409), count: 1, method: "POST")
            _ = try await ledger.record(reference: Self.nginx, digest: Self.digest(1), at: Self.t0)
            #expect(server.recordedCalls.count { $0.method == "POST" } == 2)
            server.injectFailure(.status(409), count: 1, method: "PUT")
            let updated = try await ledger.record(reference: Self.nginx, digest: Self.digest(2), at: Self.t0 + 100)
            #expect(updated.spec.digests.count == 2)
            #expect(server.recordedCalls.count { $0.method == "PUT" } == 2)
            #expect(server.recordedCalls.count { $0.method == "GET" } == 4, "every attempt reads the current version first")
            server.injectFailure(.status(409), count: 3, method: "PUT")
            await #expect(throws: KubeError.self) { try await ledger.record(reference: Self.nginx, digest: Self.digest(3), at: Self.t0 + 200) }
            await client.shutdown()
        }
    }

    @Test("a stale write is refused with 409 by the server, not merged blindly")
    func staleWriteConflicts() async throws {
        try await withServer { server in
            let client = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            let ledger = DigestLedger(client: client, namespace: "kate")
            let first = try await ledger.record(reference: Self.nginx, digest: Self.digest(1), at: Self.t0)
            _ = try await ledger.record(reference: Self.nginx, digest: Self.digest(2), at: Self.t0 + 100)
            var stale = first
            stale.spec.digests = []
            do {
                _ = try await client.replaceObject(stale, .imageTagHistories, namespace: "kate")
                Issue.record("a stale resourceVersion must conflict")
            } catch let error as KubeError {
                #expect(error.isConflict)
            }
            #expect(try await ledger.history(of: Self.nginx)?.spec.digests.count == 2)
            await client.shutdown()
        }
    }

    @Test("a fact one replica records reaches another replica's watch-backed copy within a second; forgetting removes it")
    func readersFollow() async throws {
        try await withServer { server in
            let writerClient = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            let readerClients = (0..<2).map { _ in KubeClient(configuration: server.clientConfiguration, logger: testLogger) }
            _ = try await DigestLedger(client: writerClient, namespace: "kate").record(reference: "docker.io/library/redis:7", digest: Self.digest(7), at: Self.t0)
            let readers = readerClients.map { DigestLedgerReader(client: $0, namespace: "kate") }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for reader in readers { group.addTask { try await reader.run() } }
                try await Self.waitUntil { readers.allSatisfy { $0.isSynced } }
                #expect(readers.allSatisfy { $0.history(of: "docker.io/library/redis:7")?.digests.first?.digest == Self.digest(7) })

                let recorded = ContinuousClock.now
                let ledger = DigestLedger(client: writerClient, namespace: "kate")
                try await ledger.record(reference: Self.nginx, digest: Self.digest(3), at: Self.t0 + 5)
                try await Self.waitUntil(within: .seconds(1)) { readers.allSatisfy { $0.firstSeen(reference: Self.nginx, digest: Self.digest(3)) != nil } }
                #expect(ContinuousClock.now - recorded < .seconds(1))
                #expect(readers[1].firstSeen(reference: Self.nginx, digest: Self.digest(3)) == Self.t0 + 5)

                // A watch cut mid-stream resumes; the copy never emptied meanwhile.
                server.dropWatches()
                try await ledger.record(reference: Self.nginx, digest: Self.digest(4), at: Self.t0 + 500)
                try await Self.waitUntil { readers.allSatisfy { $0.history(of: Self.nginx)?.digests.count == 2 } }

                let forgotten = try await ledger.forget(try await ledger.histories()) { $0.reference.hasPrefix("docker.io/library/redis") }
                #expect(forgotten == ["docker.io/library/redis:7"])
                try await Self.waitUntil { readers.allSatisfy { $0.history(of: "docker.io/library/redis:7") == nil && $0.count == 1 } }
                group.cancelAll()
                await #expect(throws: CancellationError.self) { try await group.waitForAll() }
            }
            await writerClient.shutdown()
            for client in readerClients { await client.shutdown() }
        }
    }

    static func waitUntil(within timeout: Duration = .seconds(10), _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else { throw LedgerTestError.timedOut }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

enum LedgerTestError: Error { case timedOut }
