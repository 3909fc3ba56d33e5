import Foundation
import KateAdmission
import KateRegistry
import Logging

/// CPU of decode + pin + encode of one cached review inside this process, no network: the part of
/// a review's cost that admission itself owns, measured without the noise of TLS, the kernel and
/// wrk sharing two cores. Anonymous against credentialed shows what a credential costs per hit.
enum InProcess {
    /// The real resolver and pinner, configured as `--registry-config` and `--docker-config` are.
    static func pinner(_ fixtures: BenchFixtures, logger: Logger) throws -> PodPinner {
        let file = try RegistryConfigFile.load(path: fixtures.registryConfig)
        let resolver = Resolver(configuration: ResolverConfiguration(registries: file.registries), logger: logger)
        let config = try DockerConfig.parse(json: Array(try Data(contentsOf: URL(fileURLWithPath: fixtures.dockerConfig))))
        let keyring = Keyring(sources: [(label: "docker config \(fixtures.dockerConfig)", config: config)])
        return PodPinner(configuration: AdmissionConfiguration(), resolver: resolver, keyrings: StaticKeyringProvider(node: keyring))
    }

    /// Microseconds of process CPU per review over `seconds`, after one warm-up review that must pin every image.
    nonisolated static func cpuPerReview(_ review: [UInt8], images: Int, pinner: PodPinner, logger: Logger, seconds: Double = 2) async throws -> Double {
        let warm = await pinner.pin(try AdmissionReviewDecoder.decode(review).request, deadline: .now + .seconds(10), logger: logger)
        guard warm.pinnedImages == images else { throw BenchReview.Failure(description: "in-process warm-up pinned \(warm.pinnedImages) of \(images): \(warm.failures)") }
        let clock = ContinuousClock()
        let started = clock.now
        let before = Wrk.cpuSeconds(RUSAGE_SELF)
        var count = 0
        while clock.now - started < .milliseconds(Int(seconds * 1000)) {
            for _ in 0..<100 {
                let decoded = try AdmissionReviewDecoder.decode(review)
                let report = await pinner.pin(decoded.request, deadline: .now + .seconds(10), logger: logger)
                guard report.pinnedImages == images else { throw BenchReview.Failure(description: "in-process review not pinned") }
                _ = report.response.encode(version: decoded.version)
            }
            count += 100
        }
        return (Wrk.cpuSeconds(RUSAGE_SELF) - before) * 1e6 / Double(count)
    }

    /// Where one review's in-process CPU goes: decode alone, decode + pin, decode + pin + encode.
    nonisolated static func breakdown(_ review: [UInt8], pinner: PodPinner, logger: Logger) async throws -> (decode: Double, pin: Double, encode: Double) {
        let rounds = 3000
        func measure(_ body: () async throws -> Void) async rethrows -> Double {
            let before = Wrk.cpuSeconds(RUSAGE_SELF)
            for _ in 0..<rounds { try await body() }
            return (Wrk.cpuSeconds(RUSAGE_SELF) - before) * 1e6 / Double(rounds)
        }
        let decode = try await measure { _ = try AdmissionReviewDecoder.decode(review) }
        let decoded = try AdmissionReviewDecoder.decode(review)
        let pin = await measure { _ = await pinner.pin(decoded.request, deadline: .now + .seconds(10), logger: logger) }
        let report = await pinner.pin(decoded.request, deadline: .now + .seconds(10), logger: logger)
        let encode = await measure { _ = report.response.encode(version: decoded.version) }
        return (decode, pin, encode)
    }
}
