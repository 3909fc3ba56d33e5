import Foundation
import KateContract
import KateKube
import Testing
@testable import KateSweeper

@Suite("collecting containers from pods")
struct PodCollectorTests {
    static let d1 = Fixtures.digest("1")
    static let collector = PodCollector(scope: CollectionScope())

    @Test func matchesStatusByNameAndReadsSidecars() throws {
        let pod = try Fixtures.decodePod(Fixtures.pod(name: "web", containers: [
            .init(name: "app", image: "nginx:1.27", imageID: "docker.io/library/nginx@\(Self.d1)"),
            .init(name: "proxy", image: "envoyproxy/envoy:v1.30@\(Fixtures.digest("2"))", imageID: "docker.io/envoyproxy/envoy@\(Fixtures.digest("2"))"),
            .init(name: "log-shipper", image: "fluent/fluent-bit:3", imageID: "docker.io/fluent/fluent-bit@\(Fixtures.digest("3"))", sidecar: true),
        ]))
        let targets = Self.collector.collect([pod]).targets
        #expect(targets.map(\.container) == ["app", "proxy", "log-shipper"])
        #expect(targets[0].running.digest == Self.d1)
        #expect(targets[1].pinnedDigest == Fixtures.digest("2"))
        #expect(targets[1].tracking.image?.tag == "v1.30")
        #expect(targets[1].tracking.image?.display == "envoyproxy/envoy:v1.30")
        #expect(targets[2].role == .sidecar)
        #expect(targets[0].runningRepository == "docker.io/library/nginx")
    }

    @Test func finishedInitContainersAreIgnored() throws {
        var object = Fixtures.pod(name: "web", containers: [.init(name: "app", image: "nginx:1.27", imageID: "nginx@\(Self.d1)")])
        var spec = object["spec"] as? [String: Any] ?? [:]
        spec["initContainers"] = [["name": "migrate", "image": "migrate:1"]]
        object["spec"] = spec
        #expect(Self.collector.collect([try Fixtures.decodePod(object)]).targets.map(\.container) == ["app"])
    }

    @Test func originalImagesAnnotationIsTracked() throws {
        let pod = try Fixtures.decodePod(Fixtures.pod(
            name: "web", annotations: ["kate.dev/original-images": #"{"app":"nginx:stable"}"#],
            containers: [.init(name: "app", image: "nginx:stable@\(Self.d1)", imageID: "nginx@\(Self.d1)")]))
        let target = try #require(Self.collector.collect([pod]).targets.first)
        #expect(target.tracking.image?.tag == "stable")
        #expect(target.pinnedDigest == Self.d1)
    }

    @Test func digestOnlyImageHasNoTag() throws {
        let pod = try Fixtures.decodePod(Fixtures.pod(name: "web", containers: [.init(name: "app", image: "nginx@\(Self.d1)", imageID: "nginx@\(Self.d1)")]))
        let target = try #require(Self.collector.collect([pod]).targets.first)
        #expect(target.tracking.image == nil)
    }

    static func skippable(_ label: String) -> [String: Any] {
        let app: [Fixtures.PodContainer] = [.init(name: "a", image: "nginx")]
        switch label {
        case "pending": return Fixtures.pod(name: "p", containers: app, phase: "Pending")
        case "succeeded": return Fixtures.pod(name: "p", containers: app, phase: "Succeeded")
        case "terminating": return Fixtures.pod(name: "p", containers: app, deleting: true)
        case "mirror": return Fixtures.pod(name: "p", annotations: ["kubernetes.io/config.mirror": "abc"], containers: app)
        case "opted out": return Fixtures.pod(name: "p", annotations: ["kate.dev/skip": "true"], containers: app)
        default: return Fixtures.pod(namespace: "kube-system", name: "p", containers: app)
        }
    }

    @Test(arguments: ["pending", "succeeded", "terminating", "mirror", "opted out", "kube-system"])
    func skips(_ label: String) throws {
        let collection = Self.collector.collect([try Fixtures.decodePod(Self.skippable(label))])
        #expect(collection.targets.isEmpty, "\(label) pod must be skipped")
        #expect(collection.skipped.count == 1)
    }

    @Test func brokenAnnotationFallsBackToSpec() {
        #expect(OriginalImages.decode("{not json") == nil)
        #expect(OriginalImages.decode(#"{"app":"nginx:1"}"#) == ["app": "nginx:1"])
    }
}
