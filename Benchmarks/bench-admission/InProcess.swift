import Foundation
import KateAdmission
import KateNet
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

    /// CPU per review of the whole `/mutate` responder (decode, pin, encode, metrics, logging)
    /// with kate's log handler as the chart configures it (JSON, `info`) writing to /dev/null,
    /// against the same handler at `critical` (logging off); the two take turns, three rounds.
    nonisolated static func loggingCost(_ review: [UInt8], fixtures: BenchFixtures, seconds: Double = 1.5) async throws -> (on: [Double], off: [Double]) {
        let devNull = open("/dev/null", O_WRONLY)
        defer { close(devNull) }
        func responder(_ level: Logger.Level) throws -> MutatingWebhook {
            let sink = FileDescriptorLogSink(descriptor: devNull)
            let logger = Logger(label: "kate.webhook") { KateLogHandler(label: $0, format: .json, level: level, sink: sink) }
            return MutatingWebhook(pinner: try pinner(fixtures, logger: logger), logger: logger)
        }
        let on = try responder(.info), off = try responder(.critical)
        let request = HTTPRequest(method: "POST", target: "/mutate?timeout=10s", headers: ["Content-Type": "application/json"], body: review)
        let context = RequestContext(remoteAddress: "127.0.0.1:40000", deadline: .now + .seconds(3600), logger: Logger(label: "bench"))
        func measure(_ webhook: MutatingWebhook) async throws -> Double {
            let warm = await webhook.respond(to: request, context: context)
            guard warm.status == 200, String(decoding: warm.body, as: UTF8.self).contains("JSONPatch") else {
                throw BenchReview.Failure(description: "in-process /mutate did not pin: \(String(decoding: warm.body, as: UTF8.self).prefix(300))")
            }
            let clock = ContinuousClock()
            let started = clock.now
            let before = Wrk.cpuSeconds(RUSAGE_SELF)
            var count = 0
            while clock.now - started < .milliseconds(Int(seconds * 1000)) {
                for _ in 0..<100 { _ = await webhook.respond(to: request, context: context) }
                count += 100
            }
            return (Wrk.cpuSeconds(RUSAGE_SELF) - before) * 1e6 / Double(count)
        }
        var onMicros: [Double] = [], offMicros: [Double] = []
        for _ in 0..<3 {
            onMicros.append(try await measure(on))
            offMicros.append(try await measure(off))
        }
        return (onMicros, offMicros)
    }
}
