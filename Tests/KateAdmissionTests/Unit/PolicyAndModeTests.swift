import Foundation
import KateAdmission
import KateContract
import KateKube
import Logging
import KateRegistry
import Testing

@Suite("Policy, warn mode and opt-outs")
struct PolicyAndModeTests {
    @Test("skipped namespaces and the kate.dev/skip annotation leave the pod alone")
    func podOptOuts() async throws {
        var harness = PinHarness(resolver: ExampleImages.resolver())
        harness.configuration.policy = AdmissionPolicy(skipNamespaces: ["kube-system", "shop"])
        let skippedNamespace = try await harness.run(try Fixtures.bytes(Fixtures.podCreate))
        #expect(skippedNamespace.report.outcome == .skipped)
        #expect(skippedNamespace.response.patch.isEmpty)

        harness.configuration.policy = AdmissionPolicy()
        let annotated = try Fixtures.review(
            Fixtures.podCreate, edits: #"[{"op":"add","path":"/request/object/metadata/annotations/kate.dev~1skip","value":"true"}]"#)
        let optedOut = try await harness.run(annotated)
        #expect(optedOut.report.outcome == .skipped)
        #expect(optedOut.report.note == "pod annotation kate.dev/skip=true")
        #expect(harness.resolver.lookups.isEmpty)
    }

    @Test("exclude/include image patterns and excluded registries", arguments: [
        (AdmissionPolicy(excludeImages: [GlobPattern("ghcr.io/acme/*")]), ["web", "log-shipper"]),
        (AdmissionPolicy(excludeImages: [GlobPattern("docker.io/fluent/*")]), ["web", "migrate"]),
        (AdmissionPolicy(includeImages: [GlobPattern("registry.acme.example:5000/*")]), ["web"]),
        (AdmissionPolicy(excludeRegistries: ["registry.acme.example:5000", "index.docker.io"]), ["migrate"]),
    ])
    func imagePatterns(policy: AdmissionPolicy, pinned: [String]) async throws {
        var harness = PinHarness(resolver: ExampleImages.resolver())
        harness.configuration.policy = policy
        let result = try await harness.run(try Fixtures.bytes(Fixtures.podCreate))
        #expect(result.originalImages.map { Set($0.keys) } == Set(pinned))
    }

    @Test("a pod whose every tag is excluded counts as skipped")
    func allExcluded() async throws {
        var harness = PinHarness(resolver: ExampleImages.resolver())
        harness.configuration.policy = AdmissionPolicy(includeImages: [GlobPattern("nothing/*")])
        let review = try Fixtures.review(
            Fixtures.podCreate, edits: #"[{"op":"replace","path":"/request/object/spec/containers/1/image","value":"envoyproxy/envoy:v1.31.2"}]"#)
        let result = try await harness.run(review)
        #expect(result.report.outcome == .skipped)
    }

    @Test("warn mode resolves and reports in warnings but never patches")
    func warnMode() async throws {
        var harness = PinHarness(resolver: ExampleImages.resolver())
        harness.configuration.mode = .warn
        let result = try await harness.run(try Fixtures.bytes(Fixtures.podCreate))
        #expect(result.response.patch.isEmpty)
        #expect(result.report.outcome == .unchanged)
        #expect(result.response.warnings.count == 3)
        #expect(result.response.warnings.contains { $0.hasPrefix(ExampleImages.migrate) && $0.contains("would pin to sha256:bbbbbbbbbbbb") })
        let wire = try JSONValue.parse(result.response.encode(version: .v1))
        #expect(wire.at("/response/patchType") == nil)
        #expect(wire.at("/response/warnings")?.arrayValue?.count == 3)
    }
}

@Suite("Failures: deadline, deny mode, stale-if-error, credentials")
struct FailureTests {
    @Test("a registry slower than the deadline leaves that container unpinned, answered in time")
    func deadline() async throws {
        var script = FakeResolver.Script()
        script.digests = [FakeResolver.key(ExampleImages.migrate): digest("b"), FakeResolver.key(ExampleImages.shipper): digest("c")]
        script.delays = [FakeResolver.key(ExampleImages.web): .seconds(30)]
        let harness = PinHarness(resolver: FakeResolver(script))
        let started = ContinuousClock.now
        let result = try await harness.run(try Fixtures.bytes(Fixtures.podCreate), timeout: .milliseconds(300))
        let elapsed = ContinuousClock.now - started
        #expect(elapsed < .seconds(2))
        #expect(result.report.outcome == .failedOpen)
        #expect(result.image("/spec/containers/0/image") == ExampleImages.web)
        #expect(result.image("/spec/initContainers/0/image") == ExampleImages.migrate + "@" + digest("b"))
        #expect(result.originalImages.map { Set($0.keys) } == ["migrate", "log-shipper"])
        let warning = try #require(result.response.warnings.first)
        #expect(warning.hasPrefix(ExampleImages.web + ": not pinned:"))
        #expect(result.response.allowed)
    }

    @Test("deny mode answers 403 for a missing tag and 503 for an unreachable registry", arguments: [
        (RegistryError.Kind.tagNotFound, 403), (.network, 503), (.unauthorized, 403), (.timeout, 503),
    ])
    func denyMode(kind: RegistryError.Kind, code: Int) async throws {
        var script = FakeResolver.Script()
        script.digests = [FakeResolver.key(ExampleImages.migrate): digest("b"), FakeResolver.key(ExampleImages.shipper): digest("c")]
        script.failures = [FakeResolver.key(ExampleImages.web): RegistryError(kind, registry: "registry.acme.example:5000", repository: "shop/web", tag: "2.4.1", detail: "scripted")]
        var harness = PinHarness(resolver: FakeResolver(script))
        harness.configuration.failureMode = .deny
        let result = try await harness.run(try Fixtures.bytes(Fixtures.podCreate))
        #expect(result.response.allowed == false)
        #expect(result.response.patch.isEmpty)
        #expect(result.report.outcome == .denied)
        let denial = try #require(result.response.denial)
        #expect(denial.code == code)
        #expect(denial.message.contains(ExampleImages.web))
        #expect(denial.message.contains("web-7c5d8f9b6d-*"))
        let wire = try JSONValue.parse(result.response.encode(version: .v1))
        #expect(wire.at("/response/status/code") == .number(Double(code)))
        #expect(wire.at("/response/allowed") == .bool(false))
    }

    @Test("warn mode never denies, even with --failure-mode deny")
    func warnModeDoesNotDeny() async throws {
        var script = FakeResolver.Script()
        script.failures = [FakeResolver.key(ExampleImages.web): RegistryError(.tagNotFound, registry: "registry.acme.example:5000", repository: "shop/web", detail: "scripted")]
        var harness = PinHarness(resolver: FakeResolver(script))
        harness.configuration.mode = .warn
        harness.configuration.failureMode = .deny
        let result = try await harness.run(try Fixtures.bytes(Fixtures.podCreate))
        #expect(result.response.allowed)
        #expect(result.response.patch.isEmpty)
        #expect(result.report.outcome == .failedOpen)
        #expect(result.response.warnings.contains { $0.hasPrefix(ExampleImages.web + ": not pinned: tag not found") })
    }

    @Test("registry down: the last known digest is pinned with a warning saying how old it is")
    func staleIfError() async throws {
        var script = FakeResolver.Script()
        script.digests = [FakeResolver.key(ExampleImages.migrate): digest("b"), FakeResolver.key(ExampleImages.shipper): digest("c")]
        let key = FakeResolver.key(ExampleImages.web)
        script.failures = [key: RegistryError(.network, registry: "registry.acme.example:5000", repository: "shop/web", detail: "connection refused")]
        script.lastKnown = [key: (digest("e"), Date().addingTimeInterval(-3 * 3600 - 60))]
        let harness = PinHarness(resolver: FakeResolver(script))
        let result = try await harness.run(try Fixtures.bytes(Fixtures.podCreate))
        #expect(result.image("/spec/containers/0/image") == ExampleImages.web + "@" + digest("e"))
        #expect(result.response.warnings == [ExampleImages.web + ": pinned last known digest from 3h ago: registry unreachable"])
        #expect(result.report.outcome == .pinned)

        var off = harness
        off.configuration.staleIfError = nil
        off.memory = RevisionMemory()  // the revision already remembers the stale digest
        let unpinned = try await off.run(try Fixtures.bytes(Fixtures.podCreate))
        #expect(unpinned.image("/spec/containers/0/image") == ExampleImages.web)
        #expect(unpinned.report.outcome == .failedOpen)
    }

    @Test("a 401 names the pull secrets that were missing")
    func unauthorizedNamesMissingSecrets() async throws {
        struct MissingSecretKeyrings: PodKeyringProviding {
            func keyring(for pod: Pod, namespace: String, deadline: ContinuousClock.Instant, logger: Logger) async -> PodKeyring {
                PodKeyring(keyring: .empty, checked: ["imagePullSecret shop/acme-registry", "docker config"],
                           problems: ["imagePullSecret shop/acme-registry not found"])
            }
        }
        var script = FakeResolver.Script()
        script.digests = [FakeResolver.key(ExampleImages.migrate): digest("b"), FakeResolver.key(ExampleImages.shipper): digest("c")]
        script.failures = [FakeResolver.key(ExampleImages.web): RegistryError(.unauthorized, registry: "registry.acme.example:5000", repository: "shop/web", detail: "401")]
        var harness = PinHarness(resolver: FakeResolver(script))
        harness.keyrings = MissingSecretKeyrings()
        harness.configuration.failureMode = .deny
        let result = try await harness.run(try Fixtures.bytes(Fixtures.podCreate))
        let message = try #require(result.response.denial?.message)
        #expect(message.contains("imagePullSecret shop/acme-registry not found"))
    }

    @Test("warnings stay within 120 characters even for very long image names")
    func longWarnings() {
        let image = "registry.example.com:5000/" + String(repeating: "very-long-path/", count: 12) + "app:1.0"
        let text = WarningText.compose(image: image, "not pinned: registry timed out")
        #expect(text.count <= 120)
        #expect(text.hasSuffix(": not pinned: registry timed out"))
        #expect(text.hasPrefix("registry.example.com"))
        #expect(WarningText.compose(image: "nginx:1", String(repeating: "x", count: 300)).count == 120)
    }
}
