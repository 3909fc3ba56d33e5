import Foundation
import KateAdmission
import KateKube
import KateSweeper
import Testing

extension Reliability {
    /// Inputs the fuzzers found (the raw inputs are kept in Fuzz/crashes/<target>/ and replayed by
    /// scripts/fuzz.sh), restated as tests that say what must hold.
    @Suite("Regressions found by fuzzing", .timeLimit(.minutes(1)))
    struct FuzzRegressionTests {
        /// fuzz-admission, crash-5021a4c6…: a Pod object without `metadata` (PodReader used an empty
        /// ObjectMeta) got `add /metadata/annotations`, whose parent does not exist, so kube-apiserver
        /// could not apply the patch and the user's request failed. Fixed: such a Pod is left alone.
        @Test("a Pod without metadata never gets a patch that cannot apply", arguments: ["absent", "null"])
        func podWithoutMetadata(_ variant: String) async throws {
            let registry = try await FaultyRegistry.start()
            let rig = AdmissionRig(plainHTTP: [registry.host])
            let review = try Reviews.podCreate(registry: registry.host) { object in
                if variant == "absent" { object["metadata"] = nil } else { object["metadata"] = NSNull() }
            }
            let outcome = try await rig.pin(review, budget: .seconds(3))
            let object = try #require(Reviews.rawObject(review))
            for operation in outcome.report.response.patch {
                #expect(PatchTarget.parentExists(operation.path, in: object), "\(operation.op.rawValue) \(operation.path) has no parent in the object as sent")
            }
            // The fix leaves such a Pod to the apiserver's validation: allowed, untouched.
            #expect(outcome.report.response.allowed)
            #expect(outcome.report.response.patch.isEmpty)
            await rig.shutdown()
            await registry.stop()
        }
    }
}

extension Reliability.FuzzRegressionTests {
    /// fuzz-image-id, crash-e8959bfe…: `docker://\t@sha256:…` parsed as a digest with the
    /// "repository" `\t` — the check rejected spaces but not other whitespace, so printing and
    /// parsing it again lost the digest. Fixed: any whitespace-only repository is unknown.
    @Test("an imageID whose repository is only whitespace is not a digest")
    func whitespaceRepository() {
        let digest = "sha256:" + String(repeating: "f9", count: 32)
        #expect(ImageID.parse("docker://\t@" + digest).digest == nil)
        #expect(ImageID.parse("docker:// @" + digest).digest == nil)
    }
}

extension Reliability.FuzzRegressionTests {
    /// fuzz-admission, crash-9218a1ab…: `imagePullSecrets: [{}]` (name is `omitempty` in the API,
    /// and the apiserver accepts it) made KateKube's Pod model fail to decode — for the sweeper, the
    /// whole list page with it (bug 10). Admission must pin such a pod normally, and the pod must
    /// still decode (with an empty name) before and after the patch.
    @Test("a pod with a nameless imagePullSecrets entry is pinned and still decodes")
    func namelessPullSecret() async throws {
        let registry = try await FaultyRegistry.start()
        let rig = AdmissionRig(plainHTTP: [registry.host])
        let review = try Reviews.podCreate(registry: registry.host) { object in
            var spec = object["spec"] as? [String: Any] ?? [:]
            spec["imagePullSecrets"] = [[String: Any]()]
            object["spec"] = spec
        }
        let object = try #require(Reviews.rawObject(review))
        let pod = try JSONDecoder().decode(Pod.self, from: JSONSerialization.data(withJSONObject: object))
        #expect(pod.spec.imagePullSecrets == [LocalObjectReference(name: "")])
        let outcome = try await rig.pin(review, budget: .seconds(3))
        #expect(outcome.report.response.allowed)
        #expect(outcome.report.pinnedImages > 0, "\(outcome.report.failures)")
        await rig.shutdown()
        await registry.stop()
    }
}

/// Just enough RFC 6901 to ask whether an `add`/`replace` target's parent exists in a JSON value.
enum PatchTarget {
    static func parentExists(_ pointer: String, in document: Any) -> Bool {
        let tokens = pointer.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
        var node: Any = document
        for token in tokens.dropLast() {
            if let object = node as? [String: Any], let child = object[token] {
                node = child
            } else if let array = node as? [Any], let index = Int(token), array.indices.contains(index) {
                node = array[index]
            } else {
                return false
            }
        }
        return node is [String: Any] || node is [Any]
    }
}
