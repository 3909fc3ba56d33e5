import Foundation
import KateNet
import Testing
@testable import KateAdmission

/// Each registry's real sample payload (Tests/Fixtures/registry-events/README.md) becomes the
/// tag push kate acts on, in kate's canonical reference form.
@Suite("registry event formats")
struct EventsFormatTests {
    private func parse(_ name: String, headers: HTTPHeaders = [:]) throws -> RegistryEvents {
        try RegistryEventFormats.parse(.event(try EventFixtures.bytes(name), headers: headers))
    }

    @Test("the real docker-registry's notification: the manifest push by tag, at the host the pusher used")
    func distribution() throws {
        let events = try parse("distribution-push.json")
        #expect(events.format == "distribution")
        #expect(events.pushes.map(\.reference.description) == ["127.0.0.1:58495/kate/demo:v1"])
        #expect(events.pushes.first?.digest == "sha256:9b97be01738ec631aeb31eb30d25346d920bf81bf8c7a886818750108674294e")
        #expect(events.pushes.first?.eventID == "46a2bcec-86ec-494e-a07a-2b579d7a2a73")
    }

    @Test("distribution: blob pushes, pulls and pushes by digest are passed over with a reason")
    func distributionIgnoresNonTagEvents() throws {
        var envelope = try EventFixtures.object("distribution-push.json")
        var events = envelope["events"] as? [[String: Any]] ?? []
        var blob = events[0]
        blob["target"] = ["mediaType": "application/octet-stream", "digest": "sha256:" + String(repeating: "b", count: 64), "repository": "kate/demo"]
        var pull = events[0]
        pull["action"] = "pull"
        events += [blob, pull]
        envelope["events"] = events
        let parsed = try RegistryEventFormats.parse(.event(try EventFixtures.encode(envelope)))
        #expect(parsed.pushes.count == 1)
        #expect(parsed.ignored.count == 2)
        #expect(parsed.ignored.contains { $0.contains("names no tag") })
        #expect(parsed.ignored.contains { $0.hasPrefix("pull kate/demo") })
    }

    @Test("Docker Hub names no host: the tag is Docker Hub's")
    func dockerHub() throws {
        let events = try parse("dockerhub-push.json")
        #expect(events.format == "dockerhub")
        #expect(events.pushes.map(\.reference.description) == ["docker.io/svendowideit/testhook:latest"])
        #expect(events.pushes.first?.digest == nil)
    }

    @Test("Harbor: the host comes from resource_url, the digest from the resource")
    func harbor() throws {
        let events = try parse("harbor-push.json")
        #expect(events.format == "harbor")
        #expect(events.pushes.map(\.reference.description) == ["hub.harbor.com/test-webhook/debian:latest"])
        #expect(events.pushes.first?.digest == "sha256:8a9e9863dbb6e10edb5adfe917c00da84e1700fa76e7ed02476aa6e6fb8ee0d8")
    }

    @Test("Harbor: a pull is recognised and ignored, not an error")
    func harborPull() throws {
        var payload = try EventFixtures.object("harbor-push.json")
        payload["type"] = "PULL_ARTIFACT"
        let events = try RegistryEventFormats.parse(.event(try EventFixtures.encode(payload)))
        #expect(events.pushes.isEmpty)
        #expect(events.ignored == ["PULL_ARTIFACT: not a push"])
    }

    @Test("Quay: updated_tags as a list (Red Hat Quay 3) and as a tag → image object (older Quay.io)")
    func quay() throws {
        #expect(try parse("quay-push.json").pushes.map(\.reference.description) == ["quay.io/dgangaia/test:latest"])
        let legacy = try parse("quay-push-legacy.json")
        #expect(legacy.format == "quay")
        #expect(legacy.pushes.map(\.reference.description) == ["quay.io/devtable/ubuntu:latest"])
    }

    @Test("Azure Container Registry: one distribution-style event without the envelope")
    func acr() throws {
        let events = try parse("acr-push.json")
        #expect(events.format == "acr")
        #expect(events.pushes.map(\.reference.description) == ["myregistry.azurecr.io/hello-world:v1"])
        #expect(events.pushes.first?.digest == "sha256:80f0d5c8786bb9e621a45ece0db56d11cdc624ad20da9fe62e9d25490f331d7d")
        #expect(events.pushes.first?.eventID == "cb8c3971-9adc-488b-bdd8-43cbb4974ff5")
    }

    @Test("GitHub: the sample's empty tag is ignored; with a tag it is ghcr.io, lower case, the delivery id as event id")
    func gitHub() throws {
        let sample = try parse("github-package-published.json")
        #expect(sample.format == "github")
        #expect(sample.pushes.isEmpty)
        #expect(sample.ignored.first?.contains("names no tag") == true)

        var payload = try EventFixtures.object("github-package-published.json")
        var package = payload["package"] as? [String: Any] ?? [:]
        var version = package["package_version"] as? [String: Any] ?? [:]
        var metadata = version["container_metadata"] as? [String: Any] ?? [:]
        metadata["tag"] = ["name": "nightly", "digest": "sha256:" + String(repeating: "c", count: 64)]
        version["container_metadata"] = metadata
        package["package_version"] = version
        payload["package"] = package
        let tagged = try RegistryEventFormats.parse(.event(try EventFixtures.encode(payload), headers: ["X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"]))
        #expect(tagged.pushes.map(\.reference.description) == ["ghcr.io/codertocat/hello-world:nightly"])
        #expect(tagged.pushes.first?.eventID == "72d3162e-cc78-11e3-81ab-4c9367dc0958")
    }

    @Test("GitHub's older registry_package event reads the same way")
    func gitHubRegistryPackage() throws {
        var payload = try EventFixtures.object("github-package-published.json")
        var package = payload.removeValue(forKey: "package") as? [String: Any] ?? [:]
        var version = package["package_version"] as? [String: Any] ?? [:]
        version["container_metadata"] = ["tag": ["name": "v2", "digest": ""]]
        package["package_version"] = version
        payload["registry_package"] = package
        let events = try RegistryEventFormats.parse(.event(try EventFixtures.encode(payload)))
        #expect(events.pushes.map(\.reference.description) == ["ghcr.io/codertocat/hello-world:v2"])
    }

    @Test("CloudEvents: Harbor's harbor.artifact.pushed data, the CloudEvent id as event id")
    func cloudEventsHarbor() throws {
        let events = try parse("harbor-cloudevents-push.json")
        #expect(events.format == "cloudevents")
        #expect(events.pushes.map(\.reference.description) == ["harbor.dev/library/busybox:1.36"])
        #expect(events.pushes.first?.eventID == "66e18103-09c1-41f6-982f-37df223f3eeb/1.36")
    }

    @Test("CloudEvents carrying another format: an ACR push relayed as a CloudEvent")
    func cloudEventsWrappingACR() throws {
        let envelope: [String: Any] = [
            "specversion": "1.0", "id": "evt-1", "type": "Microsoft.ContainerRegistry.ImagePushed",
            "source": "/subscriptions/x/resourceGroups/y/providers/Microsoft.ContainerRegistry/registries/myregistry",
            "data": try EventFixtures.object("acr-push.json"),
        ]
        let events = try RegistryEventFormats.parse(.event(try EventFixtures.encode(envelope)))
        #expect(events.format == "cloudevents")
        #expect(events.pushes.map(\.reference.description) == ["myregistry.azurecr.io/hello-world:v1"])
        #expect(events.pushes.first?.format == "cloudevents")
    }

    @Test("a Harbor CloudEvent pushed by digest (its tag is the digest) names no tag to follow")
    func harborPushByDigest() throws {
        var payload = try EventFixtures.object("harbor-cloudevents-push.json")
        let digest = "sha256:dde8e930c7b6a490f728e66292bc9bce42efc9bbb5278bae40e4f30f6e00fe8c"
        payload["data"] = ["resources": [["digest": digest, "tag": digest, "resource_url": "harbor.dev/library/busybox@" + digest]],
                           "repository": ["repo_full_name": "library/busybox"]]
        let events = try RegistryEventFormats.parse(.event(try EventFixtures.encode(payload)))
        #expect(events.pushes.isEmpty)
        #expect(events.ignored.first?.contains("pushed by digest") == true)
    }

    @Test("unknown bodies are refused with a reason naming the formats kate reads", arguments: [
        "not json", "[1,2]", "{\"hello\":\"world\"}", "{\"specversion\":\"0.3\",\"type\":\"x\",\"data\":{}}",
    ])
    func unknown(_ body: String) {
        #expect(throws: RegistryEventError.self) { try RegistryEventFormats.parse(.event(Array(body.utf8))) }
        do {
            _ = try RegistryEventFormats.parse(.event(Array(body.utf8)))
        } catch {
            #expect(error.description.contains("distribution") || error.description.contains("specversion"))
        }
    }

    @Test("Docker Hub's legacy host names and upper-case hosts are kate's canonical docker.io")
    func canonicalHosts() throws {
        for host in ["registry-1.docker.io", "index.docker.io", "Registry.Hub.Docker.com"] {
            let push = try RegistryPush.make(format: "t", host: host, repository: "library/nginx", tag: "1.27", digest: nil, eventID: nil)
            #expect(push.reference.description == "docker.io/library/nginx:1.27")
        }
        #expect(RegistryPush.validDigest("sha256:xxxx") == nil)
    }
}
