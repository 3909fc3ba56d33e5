// bench-registry: tag → digest resolution against a real docker-registry on loopback, behind a
// TCP proxy that adds 50 ms per round trip (a registry in another region).
//
//  1. 500 distinct tags, 10,000 lookups with 95% repeats, 64 at a time (an admission burst):
//     wall time, manifest requests the registry received (must equal the distinct count), peak RSS.
//  2. The old way — one `skopeo inspect` process per image, sequentially — against kate's
//     Resolver on the same 70 images (20 distinct tags, as 70 pods of 20 workloads).
//  3. Round trips of a sweep's registry work (token auth, two credential scopes, platform lists).
//  4. Outages: refused, hung and blackholed registries, with and without the circuit breaker.
//
// Sections can be picked by name: `bench-registry roundtrips outage` (default: all).
import Foundation
import KateNet
import KateRegistry
import Logging
import RegistryTestSupport

let delay = Duration.milliseconds(50)
let distinctTags = 500
let lookups = 10_000
let concurrency = 64

func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
func format(_ d: Duration) -> String { String(format: "%.3f s", seconds(d)) }

/// Peak resident set size of this process (VmHWM), in MiB.
func peakRSS() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
        let kb = Double(line.split(separator: " ").dropFirst().first ?? "")
    else { return 0 }
    return kb / 1024
}

func makeResolver(host: String) -> Resolver {
    var logger = Logger(label: "bench.resolver")
    logger.logLevel = .error
    let configuration = ResolverConfiguration(registries: [host: RegistrySettings(plainHTTP: true)], requestTimeout: .seconds(30))
    return Resolver(configuration: configuration, logger: logger)
}

/// Runs `work` over `items` with at most `width` in flight.
func forEachConcurrently<T: Sendable>(_ items: [T], width: Int, _ work: @escaping @Sendable (T) async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        var iterator = items.makeIterator()
        for _ in 0..<width { if let item = iterator.next() { group.addTask { try await work(item) } } }
        while try await group.next() != nil {
            if let item = iterator.next() { group.addTask { try await work(item) } }
        }
    }
}

func burst(registry: TestRegistry, proxy: DelayProxy) async throws {
    let tags = (0..<distinctTags).map { "t\($0)" }
    let pushed = try await registry.pushMany(repository: "burst/app", tags: tags)
    let before = try await registry.manifestRequests(repository: "burst/app").count
    var rng = SplitMix64(seed: 7)
    var sequence = tags
    while sequence.count < lookups { sequence.append(tags[Int(rng.next() % UInt64(tags.count))]) }
    for i in stride(from: sequence.count - 1, to: 0, by: -1) { sequence.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
    let resolver = makeResolver(host: proxy.host)
    let references = try sequence.map { try ImageReference.parse("\(proxy.host)/burst/app:\($0)") }
    let mismatches = Counter()
    let started = ContinuousClock.now
    try await forEachConcurrently(references, width: concurrency) { ref in
        let resolved = try await resolver.resolve(ref, deadline: .now + .seconds(60))
        if resolved.digest != pushed[ref.trackedTag] { mismatches.add() }
    }
    let wall = ContinuousClock.now - started
    let received = try await registry.manifestRequests(repository: "burst/app").count - before
    await resolver.shutdown()
    print("== burst: \(distinctTags) distinct tags, \(lookups) lookups (\(100 - distinctTags * 100 / lookups)% repeats), \(concurrency) concurrent, +\(delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000) ms per round trip")
    print("wall time:                 \(format(wall))")
    print("registry manifest requests: \(received) (distinct tags: \(distinctTags)) \(received == distinctTags ? "OK" : "MISMATCH")")
    print("wrong digests:             \(mismatches.value)")
    print(String(format: "lookups/s:                 %.0f", Double(lookups) / seconds(wall)))
    print(String(format: "peak RSS:                  %.1f MiB", peakRSS()))
}

func oldWayVersusKate(registry: TestRegistry, proxy: DelayProxy) async throws {
    let tags = (0..<20).map { "v\($0)" }
    let pushed = try await registry.pushMany(repository: "fleet/app", tags: tags)
    // 70 pods of 20 workloads: every tag at least three times, in a fixed shuffled order.
    var rng = SplitMix64(seed: 11)
    var images = (0..<70).map { "\(proxy.host)/fleet/app:\(tags[$0 % tags.count])" }
    for i in stride(from: images.count - 1, to: 0, by: -1) { images.swapAt(i, Int(rng.next() % UInt64(i + 1))) }

    guard let skopeo = ["/usr/bin/skopeo", "/usr/local/bin/skopeo"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        print("skopeo not installed: run scripts/install-deps.sh"); return
    }
    let skopeoStarted = ContinuousClock.now
    for image in images {
        // posix_spawn (KateNet), not Foundation's `Process` (crashes in Swift 6.3.1); waited for before the next.
        let child = try SpawnedProcess(
            executable: skopeo, arguments: ["inspect", "--tls-verify=false", "docker://\(image)"], stdout: .discard, stderr: .discard)
        let status = child.waitBlocking()
        guard status == 0 else { print("skopeo inspect \(image) failed (\(status))"); return }
    }
    let skopeoWall = ContinuousClock.now - skopeoStarted

    let before = try await registry.manifestRequests(repository: "fleet/app").count
    let resolver = makeResolver(host: proxy.host)
    let kateStarted = ContinuousClock.now
    let digests = try await withThrowingTaskGroup(of: (String, String).self) { group in
        for image in images {
            group.addTask {
                let digest = try await resolver.resolve(ImageReference.parse(image), deadline: .now + .seconds(30)).digest
                return (image, digest)
            }
        }
        return try await group.reduce(into: [String: String]()) { $0[$1.0] = $1.1 }
    }
    let kateWall = ContinuousClock.now - kateStarted
    let received = try await registry.manifestRequests(repository: "fleet/app").count - before
    await resolver.shutdown()
    let wrong = images.filter { image in digests[image] != pushed[String(image.split(separator: ":").last ?? "")] }.count
    print("== old way vs kate: 70 images / 20 tags, +\(delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000) ms per round trip")
    print("skopeo inspect, sequential: \(format(skopeoWall)) (\(String(format: "%.0f", seconds(skopeoWall) * 1000 / 70)) ms/image)")
    print("kate Resolver, cold cache:  \(format(kateWall)) = \(String(format: "%.1f", seconds(kateWall) / seconds(delay))) round trips; \(received) manifest requests; \(wrong) wrong digests")
    print(String(format: "speed-up:                   %.0fx (target >= 50x; round-trip target <= 6)", seconds(skopeoWall) / seconds(kateWall)))
}

final class Counter: @unchecked Sendable {
    // @unchecked: guarded by `lock`.
    private let lock = NSLock()
    private var count = 0
    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

let sections = CommandLine.arguments.count > 1 ? Set(CommandLine.arguments.dropFirst()) : ["burst", "skopeo", "roundtrips", "outage"]
do {
    if !sections.isDisjoint(with: ["burst", "skopeo"]) {
        let registry = try await TestRegistry.start(.plainHTTP)
        let proxy = try DelayProxy.start(upstreamPort: registry.port, delay: delay)
        do {
            if sections.contains("burst") { try await burst(registry: registry, proxy: proxy) }
            if sections.contains("skopeo") { try await oldWayVersusKate(registry: registry, proxy: proxy) }
        } catch {
            print("benchmark failed: \(error)")
        }
        await proxy.stop()
        await registry.stop()
    }
    if sections.contains("roundtrips") { try await roundTrips(delay: delay) }
    if sections.contains("outage") { try await outages() }
} catch {
    print("benchmark failed: \(error)")
}
