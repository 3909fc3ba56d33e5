import Foundation
import KateKube
import Testing

@testable import KubeTestServer

@Suite("test server semantics: JSON, selectors, patches, fixtures")
struct ServerSemanticsTests {
    @Test("JSON round-trips byte for byte in compact form, keeping key order and number spelling")
    func jsonRoundTrip() throws {
        let text = #"{"z":1,"a":[true,false,null,-0.5,1e3],"s":"q\"\\\n\u0001é😀","o":{}}"#
        let value = try JSONValue.parse(text)
        #expect(String(decoding: value.serialized(), as: UTF8.self) == #"{"z":1,"a":[true,false,null,-0.5,1e3],"s":"q\"\\\n\u0001é😀","o":{}}"#)
        #expect(value["z"] == .number("1"))
        #expect(value.objectValue?.map(\.0) == ["z", "a", "s", "o"])
    }

    @Test("malformed JSON is an error, never a crash", arguments: ["", "{", "[1,]", "{\"a\" 1}", "\"\\x\"", "01x", "tru", String(repeating: "[", count: 1000)])
    func jsonErrors(text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
    }

    @Test("label selectors match as the apiserver matches", arguments: [
        ("app=web", true), ("app==web", true), ("app!=web", false), ("app!=db", true), ("missing!=x", true),
        ("tier in (frontend,backend)", true), ("tier notin (frontend)", false), ("missing notin (a)", true), ("missing in (a)", false),
        ("app", true), ("!app", false), ("!missing", true), ("app=web,tier in (frontend, x),!missing", true), ("app=web,tier=backend", false), ("", true),
    ])
    func labelSelectors(selector: String, matches: Bool) throws {
        let query = try LabelSelectorQuery(parsing: selector)
        #expect(query.matches(["app": "web", "tier": "frontend"]) == matches)
    }

    @Test("invalid label selectors are rejected", arguments: ["app in frontend", "a b c", "app=we b", "=x", "app in (a", "!"])
    func invalidLabelSelectors(selector: String) {
        #expect(throws: LabelSelectorQuery.ParseError.self) { try LabelSelectorQuery(parsing: selector) }
    }

    @Test("field selectors: supported fields only, = == !=")
    func fieldSelectors() throws {
        let fields = ["metadata.name": "a", "metadata.namespace": "shop", "status.phase": "Running", "spec.nodeName": "node-a"]
        let pods = ResourceType.pods.selectableFields
        #expect(try FieldSelectorQuery(parsing: "status.phase=Running,spec.nodeName==node-a", supportedFields: pods).matches(fields))
        #expect(try !FieldSelectorQuery(parsing: "metadata.namespace!=shop", supportedFields: pods).matches(fields))
        #expect(try FieldSelectorQuery(parsing: "spec.nodeName!=", supportedFields: pods).matches(fields))
        let error = try #require(throws: LabelSelectorQuery.ParseError.self) {
            try FieldSelectorQuery(parsing: "spec.containers=x", supportedFields: pods)
        }
        #expect(error.description == "field label not supported: spec.containers")
        #expect(throws: LabelSelectorQuery.ParseError.self) { try FieldSelectorQuery(parsing: "status.phase=x", supportedFields: ResourceType.deployments.selectableFields) }
    }

    @Test("strategic merge patch merges maps and named lists; merge patch replaces lists")
    func patches() throws {
        let target = try JSONValue.parse(#"{"spec":{"template":{"metadata":{"annotations":{"a":"1"}},"spec":{"containers":[{"name":"web","image":"nginx:1"},{"name":"side","image":"envoy:1"}]}}}}"#)
        let patch = try JSONValue.parse(#"{"spec":{"template":{"metadata":{"annotations":{"b":"2","a":null}},"spec":{"containers":[{"name":"side","image":"envoy:2"}]}}}}"#)
        let strategic = Patching.strategicMergePatch(target, patch)
        #expect(strategic[path: ["spec", "template", "metadata", "annotations"]] == .object([("b", .string("2"))]))
        let containers = try #require(strategic[path: ["spec", "template", "spec", "containers"]]?.arrayValue)
        #expect(containers.map { $0["image"]?.stringValue } == ["nginx:1", "envoy:2"])
        let merged = Patching.mergePatch(target, patch)
        #expect(merged[path: ["spec", "template", "spec", "containers"]]?.arrayValue?.count == 1)
    }

    @Test("continue tokens are opaque base64 of the apiserver's shape and round-trip")
    func continueTokens() throws {
        let token = ContinueToken(resourceVersion: 1234, lastKey: "shop/web-1")
        let encoded = token.encoded()
        #expect(!encoded.contains("shop"))
        #expect(ContinueToken.decode(encoded) == token)
        #expect(ContinueToken.decode("not-a-token") == nil)
    }

    @Test("every fixture parses and decodes with KateKube's models", arguments: Fixture.allCases)
    func fixturesDecode(fixture: Fixture) throws {
        let json = try fixture.json()
        #expect(json[path: ["metadata", "uid"]]?.stringValue?.isEmpty == false)
        switch json["kind"]?.stringValue {
        case "Pod":
            let pod: Pod = try fixture.decode()
            #expect(pod.status?.containerStatuses?.allSatisfy { $0.imageID?.isEmpty == false } == true)
        case "Deployment": _ = try fixture.decode(as: Deployment.self)
        case "ReplicaSet": _ = try fixture.decode(as: ReplicaSet.self)
        case "StatefulSet": _ = try fixture.decode(as: StatefulSet.self)
        case "DaemonSet": _ = try fixture.decode(as: DaemonSet.self)
        case "Job": _ = try fixture.decode(as: Job.self)
        case "ServiceAccount": _ = try fixture.decode(as: ServiceAccount.self)
        case "Secret": _ = try fixture.decode(as: Secret.self)
        case "Namespace": _ = try fixture.decode(as: Namespace.self)
        default: Issue.record("unexpected kind in \(fixture)")
        }
    }

    @Test("fixtures carry the shapes the sweeper must handle")
    func fixtureShapes() throws {
        let containerd: Pod = try Fixture.podWebContainerd.decode()
        #expect(containerd.status?.containerStatuses?.first?.imageID?.hasPrefix("docker.io/library/nginx@sha256:") == true)
        #expect(containerd.spec.initContainers?.first?.isSidecar == true)
        #expect(containerd.status?.ephemeralContainerStatuses?.first?.name == "debugger-abcde")
        #expect(containerd.metadata.controller?.kind == "ReplicaSet")
        let docker: Pod = try Fixture.podWebDocker.decode()
        #expect(docker.status?.containerStatuses?.first?.imageID?.hasPrefix("docker-pullable://nginx@sha256:") == true)
        let bare: Pod = try Fixture.podBare.decode()
        #expect(bare.metadata.ownerReferences == nil)
        #expect(bare.status?.containerStatuses?.first?.imageID?.hasPrefix("sha256:") == true)
        let mirror: Pod = try Fixture.podStaticEtcd.decode()
        #expect(mirror.metadata.annotations?["kubernetes.io/config.mirror"] != nil)
        let job: Job = try Fixture.jobReport.decode()
        #expect(job.cronJob?.name == "report")
        let secret: Secret = try Fixture.secretRegcred.decode()
        #expect(secret.type == "kubernetes.io/dockerconfigjson")
        let config = try #require(secret.decodedData(".dockerconfigjson"))
        #expect(String(decoding: config, as: UTF8.self).contains("ghcr.io"))
        let account: ServiceAccount = try Fixture.serviceAccountWeb.decode()
        #expect(account.imagePullSecrets == [LocalObjectReference(name: "regcred")])
        let deployment: Deployment = try Fixture.deploymentWeb.decode()
        #expect(deployment.isRolloutComplete)
        #expect(deployment.spec?.strategy?.type == "RollingUpdate")
    }

    @Test("image IDs in containerd and docker forms")
    func imageIDs() {
        let digest = KubeTestServer.fakeDigest(for: "x")
        #expect(digest.count == 71 && digest.hasPrefix("sha256:"))
        #expect(KubeTestServer.containerdImageID(image: "nginx:1.27", digest: digest) == "docker.io/library/nginx@\(digest)")
        #expect(KubeTestServer.containerdImageID(image: "localhost:5000/a/b:1", digest: digest) == "localhost:5000/a/b@\(digest)")
        #expect(KubeTestServer.containerdImageID(image: "bitnami/redis@\(digest)", digest: digest) == "docker.io/bitnami/redis@\(digest)")
        #expect(KubeTestServer.dockerImageID(image: "nginx:1.27", digest: digest) == "docker-pullable://nginx@\(digest)")
        #expect(KubeTestServer.dockerImageID(image: "ghcr.io/o/a:1", digest: digest) == "docker-pullable://ghcr.io/o/a@\(digest)")
    }
}
