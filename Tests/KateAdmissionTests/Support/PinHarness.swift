import Foundation
import KateAdmission
import KateKube
import KateRegistry
import Logging
import Testing

/// Runs `PodPinner` on a review and applies the answer's patch to the review's exact
/// `request.object`, the way kube-apiserver does.
struct PinHarness {
    var configuration = AdmissionConfiguration()
    var resolver = FakeResolver()
    var keyrings: any PodKeyringProviding = StaticKeyringProvider(node: .empty)
    var memory = RevisionMemory()

    static let logger = TestLogging.quiet

    func pinner() -> PodPinner {
        PodPinner(configuration: configuration, resolver: resolver, keyrings: keyrings, memory: memory)
    }

    struct Outcome {
        var report: PinReport
        /// `request.object` after the patch (unchanged when there is none).
        var patched: JSONValue
        var patchBytes: [UInt8]
        var response: AdmissionResponse { report.response }

        func image(_ pointer: String) -> String? { patched.at(pointer)?.stringValue }

        /// The decoded `kate.dev/original-images` annotation of the patched pod.
        var originalImages: [String: String]? {
            guard let text = patched.at("/metadata/annotations/kate.dev~1original-images")?.stringValue else { return nil }
            return try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))
        }
    }

    func run(_ review: [UInt8], timeout: Duration = .seconds(5), pinner existing: PodPinner? = nil, now: Date = Date()) async throws -> Outcome {
        let request = try Fixtures.request(review)
        let report = await (existing ?? pinner()).pin(request, deadline: .now + timeout, now: now, logger: Self.logger)
        let object = try Fixtures.object(review)
        let patchBytes = report.response.patch.isEmpty ? [] : JSONPatchEncoder.encode(report.response.patch)
        let patched = patchBytes.isEmpty ? object : try JSONPatchApplier.apply(patch: patchBytes, to: object)
        for warning in report.response.warnings { #expect(warning.count <= 120, "warning too long: \(warning)") }
        return Outcome(report: report, patched: patched, patchBytes: patchBytes)
    }

    /// The same review with `object` in place of request.object (a second admission pass).
    static func review(_ review: [UInt8], replacingObjectWith object: JSONValue) throws -> [UInt8] {
        guard case .object(var root) = try JSONValue.parse(review), case .object(var request) = root["request"] else {
            throw JSONPatchApplier.Failure(description: "not a review")
        }
        request["object"] = object
        root["request"] = .object(request)
        return JSONValue.object(root).bytes
    }
}

/// The example pod's tags and the digests the fake registry serves for them.
enum ExampleImages {
    static let web = "registry.acme.example:5000/shop/web:2.4.1"
    static let migrate = "ghcr.io/acme/shop-migrate:v42"
    static let shipper = "fluent/fluent-bit:3.1"
    static let envoyPinned = "envoyproxy/envoy:v1.31.2@sha256:7d0d4a8f2b1c9e3a6f5d8b7c0e1a2f3d4c5b6a7988776655443322110ffeeddc"
    static let netshoot = "nicolaka/netshoot:v0.13"

    static func resolver() -> FakeResolver {
        let fake = FakeResolver()
        fake.setDigest(digest("a"), for: web)
        fake.setDigest(digest("b"), for: migrate)
        fake.setDigest(digest("c"), for: shipper)
        fake.setDigest(digest("d"), for: netshoot)
        return fake
    }
}
