import Foundation
import KateAdmission
import KateContract
import KateKube
import KateSweeper
import KubeTestServer
import Testing

extension Reliability {
    /// The webhook↔sweeper contract end to end: what `PodPinner` writes on a pod is what `PodCollector` reads back.
    /// Each side has its own tests; only this one feeds the one's output into the other.
    @Suite("Contract: the webhook's pins read back by the sweeper", .timeLimit(.minutes(1)))
    struct ContractTests {
        @Test("a pinned pod tracks the tags the user wrote, at the digests the webhook pinned")
        func pinnedPodReadsBack() async throws {
            let registry = try await FaultyRegistry.start()
            let rig = AdmissionRig(plainHTTP: [registry.host])
            // Besides the example's containers, one whose image has no tag: its pin carries only the digest, so
            // only the annotation tells the sweeper which tag (`latest`) it tracks.
            let review = try Reviews.podCreate(registry: registry.host) { object in
                var spec = object["spec"] as? [String: Any] ?? [:]
                var containers = spec["containers"] as? [[String: Any]] ?? []
                containers.append(["name": "untagged", "image": registry.host + "/tools/untagged"])
                spec["containers"] = containers
                object["spec"] = spec
            }
            let outcome = try await rig.pin(review, budget: .seconds(3))
            await rig.shutdown()
            await registry.stop()
            #expect(outcome.report.pinnedImages == 4, "\(outcome.report.failures)")

            let original = try #require(Reviews.rawObject(review))
            let specBefore = try Self.images(in: original)
            // The patch applied by the test API server's RFC 6902 implementation (the Go client suite does the same
            // with the apiserver's own library).
            let patched = try KubeTestServer.applyJSONPatch(
                JSONValue.parse(JSONPatchEncoder.encode(outcome.report.response.patch)),
                to: JSONValue.parse(Array(JSONSerialization.data(withJSONObject: original))))
            let object = try JSONSerialization.jsonObject(with: Data(patched.serialized()))
            let specAfter = try Self.images(in: object)
            let pod = try Self.runningPod(object)

            let collection = PodCollector(scope: CollectionScope()).collect([pod])
            #expect(collection.skipped.isEmpty)
            let byContainer = Dictionary(uniqueKeysWithValues: collection.targets.map { ($0.container, $0) })
            // App containers and native sidecars; a one-shot init container has finished and is not swept.
            let swept = try Self.images(in: object, oneShotInitContainers: false).keys
            #expect(swept.count == 4)
            for (container, image) in specBefore where !image.contains("@") && swept.contains(container) {
                let target = try #require(byContainer[container], "the sweeper lost container \(container)")
                let pinned = try #require(specAfter[container])
                #expect(pinned.contains("@sha256:") && pinned != image, "\(container) was not pinned: \(pinned)")
                #expect(target.tracking.image?.display == image, "\(container) must track the tag the user wrote")
                #expect(target.pinnedDigest.map { pinned.hasSuffix("@" + $0) } == true, "\(container): \(String(describing: target.pinnedDigest)) vs \(pinned)")
            }
            // An image the user pinned by digest stays as they wrote it, and is tracked by its tag.
            let envoy = try #require(byContainer["envoy"])
            #expect(envoy.tracking.image?.display == "envoyproxy/envoy:v1.31.2")
        }

        @Test("a pod the webhook leaves alone is left alone by the sweeper too", arguments: [
            ("annotation", "true"), ("annotation", "True"), ("label", "TRUE"),
        ])
        func optOutAgrees(where place: String, value: String) async throws {
            let registry = try await FaultyRegistry.start()
            let rig = AdmissionRig(plainHTTP: [registry.host])
            let review = try Reviews.podCreate(registry: registry.host) { object in
                var metadata = object["metadata"] as? [String: Any] ?? [:]
                let key = place == "label" ? "labels" : "annotations"
                var map = metadata[key] as? [String: Any] ?? [:]
                map[KateAnnotations.skip] = value
                metadata[key] = map
                object["metadata"] = metadata
            }
            let outcome = try await rig.pin(review, budget: .seconds(3))
            await rig.shutdown()
            await registry.stop()
            #expect(outcome.report.response.patch.isEmpty, "the webhook pinned an opted-out pod (\(place) \(value))")

            let pod = try Self.runningPod(try #require(Reviews.rawObject(review)))
            let collection = PodCollector(scope: CollectionScope()).collect([pod])
            #expect(collection.targets.isEmpty, "the sweeper would act on an opted-out pod (\(place) \(value))")
            #expect(collection.skipped.count == 1)
        }

        /// Container name → image, from `spec.containers` and `spec.initContainers`.
        static func images(in object: Any, oneShotInitContainers: Bool = true) throws -> [String: String] {
            let spec = try #require((object as? [String: Any])?["spec"] as? [String: Any])
            var images: [String: String] = [:]
            for list in ["containers", "initContainers"] {
                for container in spec[list] as? [[String: Any]] ?? [] {
                    let sidecar = container["restartPolicy"] as? String == "Always"
                    if list == "initContainers", !sidecar, !oneShotInitContainers { continue }
                    if let name = container["name"] as? String, let image = container["image"] as? String { images[name] = image }
                }
            }
            return images
        }

        /// The pod as the kubelet reports it once running: phase Running, each container's imageID the digest in
        /// its spec (or, unpinned, a made-up one).
        static func runningPod(_ object: Any) throws -> Pod {
            guard var pod = object as? [String: Any], var spec = pod["spec"] as? [String: Any] else {
                throw Reviews.FixtureError(description: "not a pod object")
            }
            spec["nodeName"] = "node-a"
            pod["spec"] = spec
            func statuses(_ list: String) -> [[String: Any]] {
                (spec[list] as? [[String: Any]] ?? []).map { container in
                    let image = container["image"] as? String ?? ""
                    let digest = image.split(separator: "@").last.map(String.init) ?? ("sha256:" + String(repeating: "0", count: 64))
                    return ["name": container["name"] ?? "", "image": image, "imageID": image.split(separator: "@")[0] + "@" + digest,
                            "ready": true, "restartCount": 0, "started": true, "state": ["running": ["startedAt": "2026-12-02T10:00:00Z"]]]
                }
            }
            pod["status"] = ["phase": "Running", "containerStatuses": statuses("containers"), "initContainerStatuses": statuses("initContainers")]
            return try JSONDecoder().decode(Pod.self, from: JSONSerialization.data(withJSONObject: pod))
        }
    }
}

extension Reliability.ContractTests {
    @Test("the original-images codec: sorted keys, escapes, round trip, broken values")
    func originalImagesCodec() throws {
        let images = ["web": "nginx:1.27", "a\"quote": "x/y:1", "ctl\u{1}": "é/ü:2"]
        let encoded = OriginalImages.encode(images)
        #expect(encoded == #"{"a\"quote":"x/y:1","ctl\u0001":"é/ü:2","web":"nginx:1.27"}"#)
        #expect(OriginalImages.decode(encoded) == images)
        // What Foundation reads is what kate reads: the format is plain JSON.
        let foundation = try JSONSerialization.jsonObject(with: Data(encoded.utf8)) as? [String: String]
        #expect(foundation == images)
        for broken in ["", "{", "[]", #"{"a":1}"#, #"{"a":"b"} trailing"#, "null"] {
            #expect(OriginalImages.decode(broken) == nil, "\(broken)")
        }
        #expect(OriginalImages.merging(["new": "b:2"], into: #"{"old":"a:1","new":"stale:0"}"#) == #"{"new":"b:2","old":"a:1"}"#)
        #expect(OriginalImages.merging(["new": "b:2"], into: "{broken") == #"{"new":"b:2"}"#)
    }

    @Test("the opt-out rule: kate.dev/skip=true in any letter case, nothing else")
    func optOutRule() {
        for value in ["true", "True", "TRUE", "tRuE"] { #expect(OptOut.isOptedOut([KateAnnotations.skip: value])) }
        for value in ["", "false", "yes", "1", "true ", " true", "truee"] { #expect(!OptOut.isOptedOut([KateAnnotations.skip: value]), "\(value)") }
        #expect(!OptOut.isOptedOut(nil))
        #expect(!OptOut.isOptedOut(["kate.dev/skipped": "true"]))
        #expect(OptOut.podReason(annotations: nil, labels: [KateAnnotations.skip: "true"]) == "pod label kate.dev/skip=true")
        #expect(OptOut.namespaceReason(labels: [KateAnnotations.skip: "True"]) == "namespace label kate.dev/skip=true")
    }
}
