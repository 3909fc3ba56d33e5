import Foundation
import KateAdmission
import KateRegistry
import Logging
import Testing

/// The admission pipeline as `kate webhook` builds it (PodPinner over the real `Resolver`), aimed
/// at loopback registries, with a clock around each review.
struct AdmissionRig {
    let resolver: Resolver
    var configuration: AdmissionConfiguration
    /// Only the (empty) node docker config unless a test reads pull secrets through an API server.
    var keyrings: any PodKeyringProviding = StaticKeyringProvider(node: .empty)
    let logs = LogRecorder()

    static let deadlineSlack = Reliability.deadlineSlack

    init(plainHTTP hosts: [String], cacheTTL: Duration = .seconds(300), failureMode: AdmissionConfiguration.FailureMode = .open) {
        let registries = Dictionary(uniqueKeysWithValues: hosts.map { ($0, RegistrySettings(plainHTTP: true)) })
        let configuration = ResolverConfiguration(
            registries: registries, cacheTTL: cacheTTL, negativeCacheTTL: .milliseconds(1), connectTimeout: .seconds(1),
            maxRetries: 3, retryBaseDelay: .milliseconds(20))
        resolver = Resolver(configuration: configuration, logger: logs.logger("kate.registry"))
        self.configuration = AdmissionConfiguration(failureMode: failureMode, staleIfError: .seconds(24 * 3600))
    }

    struct Outcome {
        var report: PinReport
        var elapsed: Duration
        var warnings: [String] { report.response.warnings }
        var patchedImages: [String] {
            report.response.patch.filter { $0.path.hasSuffix("/image") }.compactMap {
                if case .string(let image) = $0.value { image } else { nil }
            }
        }
    }

    /// Pins one review with a fresh `PodPinner` (so RevisionMemory never answers for the registry)
    /// and `budget` as the time left before the apiserver gives up.
    func pin(_ review: [UInt8], budget: Duration) async throws -> Outcome {
        let request = try Reviews.request(review)
        let pinner = PodPinner(configuration: configuration, resolver: resolver, keyrings: keyrings)
        let started = ContinuousClock.now
        let report = await pinner.pin(request, deadline: started + budget, logger: logs.logger("kate.admission"))
        let outcome = Outcome(report: report, elapsed: ContinuousClock.now - started)
        #expect(outcome.elapsed <= budget + Self.deadlineSlack, "review answered \(outcome.elapsed) after it started; budget was \(budget)")
        #expect(report.response.allowed || configuration.failureMode == .deny, "fail-open mode denied a pod: \(report.response)")
        return outcome
    }

    func shutdown() async { await resolver.shutdown() }
}
