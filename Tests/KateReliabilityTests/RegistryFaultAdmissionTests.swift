import Foundation
import KateAdmission
import KateRegistry
import Testing

extension Reliability {
    /// The registry misbehaves while pods are being admitted. Whatever it does, the webhook answers
    /// before the apiserver's deadline: pinned (after a retry, or to the last known digest), or
    /// allowed unpinned with a warning that says why (fail-open), or — in deny mode — a clean 503.
    @Suite("Registry faults during admission", .timeLimit(.minutes(1)))
    struct RegistryFaultAdmissionTests {
        @Test("a registry slower than the deadline: allowed unpinned, one warning per image, on time")
        func slowRegistry() async throws {
            let registry = try await FaultyRegistry.start()
            let rig = AdmissionRig(plainHTTP: [registry.host])
            registry.setSteady(.delay(.seconds(5)))
            let outcome = try await rig.pin(Reviews.podCreate(registry: registry.host), budget: .milliseconds(800))
            #expect(outcome.report.outcome == .failedOpen)
            #expect(outcome.report.response.patch.isEmpty)
            #expect(outcome.warnings.filter { $0.contains("not pinned") }.count == Reviews.unpinnedImages, "\(outcome.warnings)")
            #expect(outcome.elapsed >= .milliseconds(700), "gave up long before the deadline: \(outcome.elapsed)")
            await rig.shutdown()
            await registry.stop()
        }

        @Test("a registry that hangs up on every request: allowed unpinned with a network warning, on time")
        func connectionReset() async throws {
            let server = try ResettingServer()
            let rig = AdmissionRig(plainHTTP: [server.host])
            let outcome = try await rig.pin(Reviews.podCreate(registry: server.host), budget: .seconds(2))
            #expect(outcome.report.outcome == .failedOpen)
            #expect(outcome.report.response.patch.isEmpty)
            let kinds = Set(outcome.report.failures.map(\.kind))
            #expect(kinds.isSubset(of: [.unavailable, .timeout]) && !kinds.isEmpty, "failures: \(outcome.report.failures)")
            #expect(outcome.warnings.count == Reviews.unpinnedImages, "\(outcome.warnings)")
            await rig.shutdown()
            await server.stop()
        }

        @Test("500, 500, then healthy: the resolver retries and the pod is pinned")
        func serverErrorThenRecovery() async throws {
            let registry = try await FaultyRegistry.start()
            let rig = AdmissionRig(plainHTTP: [registry.host])
            registry.queue([.status(500), .status(500)])
            let outcome = try await rig.pin(Reviews.podCreate(registry: registry.host), budget: .seconds(5))
            #expect(outcome.report.outcome == .pinned, "\(outcome.report.failures)")
            #expect(outcome.patchedImages.count == Reviews.unpinnedImages)
            #expect(outcome.patchedImages.allSatisfy { $0.hasSuffix("@" + FaultyRegistry.digest) }, "\(outcome.patchedImages)")
            #expect(outcome.warnings.isEmpty, "\(outcome.warnings)")
            #expect(registry.manifestRequests >= Reviews.unpinnedImages + 2)
            await rig.shutdown()
            await registry.stop()
        }

        @Test("500 forever: allowed unpinned, the warning names the registry error, on time")
        func serverErrorForever() async throws {
            let registry = try await FaultyRegistry.start()
            let rig = AdmissionRig(plainHTTP: [registry.host])
            registry.setSteady(.status(500))
            let outcome = try await rig.pin(Reviews.podCreate(registry: registry.host), budget: .seconds(2))
            #expect(outcome.report.outcome == .failedOpen)
            #expect(outcome.report.failures.allSatisfy { $0.kind == .unavailable }, "\(outcome.report.failures)")
            #expect(outcome.warnings.allSatisfy { $0.contains("not pinned") }, "\(outcome.warnings)")
            await rig.shutdown()
            await registry.stop()
        }

        @Test("429 with Retry-After: 1 inside the budget: waited out, then pinned")
        func rateLimitedBriefly() async throws {
            let registry = try await FaultyRegistry.start()
            let rig = AdmissionRig(plainHTTP: [registry.host])
            registry.queue([.tooManyRequests(retryAfterSeconds: 1)])
            let outcome = try await rig.pin(Reviews.podCreate(registry: registry.host), budget: .seconds(4))
            #expect(outcome.report.outcome == .pinned, "\(outcome.report.failures)")
            #expect(outcome.patchedImages.count == Reviews.unpinnedImages)
            #expect(outcome.elapsed >= .seconds(1), "Retry-After: 1 was not honoured (\(outcome.elapsed))")
            await rig.shutdown()
            await registry.stop()
        }

        @Test("429 with Retry-After longer than the budget: not waited for; allowed with a rate-limit warning at once")
        func rateLimitedPastDeadline() async throws {
            let registry = try await FaultyRegistry.start()
            let rig = AdmissionRig(plainHTTP: [registry.host])
            registry.setSteady(.tooManyRequests(retryAfterSeconds: 30))
            let outcome = try await rig.pin(Reviews.podCreate(registry: registry.host), budget: .seconds(2))
            #expect(outcome.report.outcome == .failedOpen)
            #expect(outcome.report.failures.allSatisfy { $0.kind == .ratelimited }, "\(outcome.report.failures)")
            #expect(outcome.elapsed < .seconds(1), "waited \(outcome.elapsed) for a Retry-After it could never honour")
            await rig.shutdown()
            await registry.stop()
        }

        @Test("a 20 MB manifest: refused at the client's body limit, allowed unpinned, on time")
        func oversizedManifest() async throws {
            let registry = try await FaultyRegistry.start()
            let rig = AdmissionRig(plainHTTP: [registry.host])
            registry.setSteady(.oversizedManifest(bytes: 20 << 20))
            let outcome = try await rig.pin(Reviews.podCreate(registry: registry.host), budget: .seconds(3))
            #expect(outcome.report.outcome == .failedOpen)
            #expect(outcome.report.response.patch.isEmpty)
            #expect(outcome.report.failures.allSatisfy { $0.detail.contains("exceeds") }, "\(outcome.report.failures.map(\.detail))")
            await rig.shutdown()
            await registry.stop()
        }

        @Test("an unresolvable registry host (.invalid): allowed unpinned, the error names the host, on time")
        func dnsFailure() async throws {
            let host = "kate-reliability-\(UInt32.random(in: 0...UInt32.max)).invalid"
            let rig = AdmissionRig(plainHTTP: [host])
            let outcome = try await rig.pin(Reviews.podCreate(registry: host), budget: .seconds(3))
            #expect(outcome.report.outcome == .failedOpen)
            #expect(outcome.report.failures.allSatisfy { $0.kind == .unavailable || $0.kind == .timeout }, "\(outcome.report.failures)")
            #expect(outcome.report.failures.allSatisfy { $0.detail.contains(host) }, "the error does not name the host: \(outcome.report.failures)")
            #expect(outcome.warnings.count == Reviews.unpinnedImages, "\(outcome.warnings)")
            await rig.shutdown()
        }

        @Test("the registry fails after a successful pin: the last known digest is pinned, with a warning (stale-if-error)")
        func staleIfError() async throws {
            let registry = try await FaultyRegistry.start()
            // No positive cache: the second review must go to the registry (last-known digests are still kept).
            let rig = AdmissionRig(plainHTTP: [registry.host], cacheTTL: .zero)
            let review = try Reviews.podCreate(registry: registry.host)
            let first = try await rig.pin(review, budget: .seconds(3))
            #expect(first.report.outcome == .pinned)

            registry.setSteady(.status(503))
            let requestsBefore = registry.manifestRequests
            let second = try await rig.pin(review, budget: .seconds(3))
            #expect(registry.manifestRequests > requestsBefore, "the second review never asked the registry: \(second.report.images)")
            #expect(second.report.outcome == .pinned, "\(second.report.failures)")
            #expect(second.patchedImages == first.patchedImages)
            #expect(second.warnings.contains { $0.contains("last known digest") }, "\(second.warnings)")
            await rig.shutdown()
            await registry.stop()
        }

        @Test("--failure-mode deny with the registry down: a clean 503 denial naming the images, on time")
        func denyModeRegistryDown() async throws {
            let registry = try await FaultyRegistry.start()
            let rig = AdmissionRig(plainHTTP: [registry.host], failureMode: .deny)
            registry.setSteady(.status(503))
            let outcome = try await rig.pin(Reviews.podCreate(registry: registry.host), budget: .seconds(2))
            #expect(outcome.report.outcome == .denied)
            let denial = try #require(outcome.report.response.denial)
            #expect(denial.code == 503)
            #expect(denial.message.contains(registry.host), "\(denial.message)")
            await rig.shutdown()
            await registry.stop()
        }
    }
}
