import Foundation
import MetricsTestKit
import RegistryTestSupport
import Testing

@testable import KateRegistry

@Suite("Failure taxonomy: every RegistryError has a class and a fix")
struct FailureClassTests {
    /// The expected class of each kind, written out: a new kind without an entry fails `everyKindMaps`.
    static let expected: [RegistryError.Kind: FailureClass] = [
        .unauthorized: .auth, .tagNotFound: .absent, .repositoryNotFound: .absent, .tls: .unavailable, .timeout: .timeout,
        .rateLimited: .ratelimited, .server: .unavailable, .network: .unavailable, .invalidResponse: .unavailable,
    ]

    static func error(_ kind: RegistryError.Kind, status: Int? = nil, matched: [String] = [], checked: [String] = []) -> RegistryError {
        RegistryError(
            kind, registry: "registry.acme.example:5000", repository: "shop/web", tag: "2.4.1", detail: "scripted", checkedSources: checked,
            status: status, matchedSources: matched)
    }

    @Test("every RegistryError kind maps to its class, and its description ends with its fix")
    func everyKindMaps() {
        for kind in RegistryError.Kind.allCases {
            let error = Self.error(kind)
            #expect(error.failureClass == Self.expected[kind], "\(kind)")
            #expect(!error.fix.isEmpty && error.description.hasSuffix(error.fix), "\(kind): \(error.description)")
            #expect(FailureClass(error) == error.failureClass)
            #expect(error.failureClass.isTransient == error.isTransient || kind == .invalidResponse || kind == .tls, "\(kind)")
        }
        #expect(Set(Self.expected.values).isSubset(of: Set(FailureClass.allCases)))
    }

    @Test("401 is auth, 403 and insufficient_scope are authz")
    func authVersusAuthz() {
        #expect(Self.error(.unauthorized, status: 401).failureClass == .auth)
        #expect(Self.error(.unauthorized).failureClass == .auth)
        #expect(Self.error(.unauthorized, status: 403).failureClass == .authz)
        let scoped = RegistryError(
            .unauthorized, registry: "r", repository: "p", tag: "t", detail: "d", checkedSources: [], status: 401, retryAfter: nil,
            unreachableSince: nil, remedy: nil, transportFailure: false, matchedSources: ["imagePullSecret a/b (r)"], scopeDenied: true)
        #expect(scoped.failureClass == .authz)
        #expect(scoped.fix.contains("imagePullSecret a/b (r) was accepted but has no pull access to p"))
    }

    @Test("the fix names what to change: the Secret that matched, the flag to set")
    func fixesNameTheRemedy() {
        let wrong = Self.error(.unauthorized, status: 401, matched: ["imagePullSecret team-a/regcred (registry.acme.example:5000)"])
        #expect(wrong.fix.hasPrefix("Check imagePullSecret team-a/regcred (registry.acme.example:5000)"))
        let none = Self.error(.unauthorized, status: 401)
        #expect(none.fix.contains("add an imagePullSecret with an auths entry for registry.acme.example:5000") && none.fix.contains("--docker-config"))
        #expect(Self.error(.rateLimited).fix.contains("--registry-config"))
        #expect(Self.error(.timeout).fix.contains("--registry-timeout"))
        #expect(Self.error(.tls).fix.contains("caFile"))
        #expect(Self.error(.tagNotFound).fix.contains("tag"))
        let down = Self.error(.network).remembered(since: Date())
        #expect(down.failureClass == .unavailable && down.fix.contains("registry.acme.example:5000"))
    }

    @Test("errors that are not RegistryError: a bad reference, a cancelled or timed-out wait, anything else")
    func otherErrors() throws {
        let badReference = try #require(throws: ImageReferenceError.self) { try ImageReference.parse("Not A/Reference::") }
        #expect(FailureClass(badReference) == .badReference)
        #expect(FailureClass(CancellationError()) == .timeout)
        struct Other: Error {}
        #expect(FailureClass(Other()) == .unavailable)
        #expect(FailureClass.badReference.rawValue == "bad-reference")
    }

    @Test("HTTP answers by class for kate_registry_requests_total{class}")
    func answerClasses() {
        #expect(FailureClass.of(code: "200") == nil)
        #expect(FailureClass.of(code: "307") == nil)
        #expect(FailureClass.of(code: "401") == .auth)
        #expect(FailureClass.of(code: "403") == .authz)
        #expect(FailureClass.of(code: "404") == .absent)
        #expect(FailureClass.of(code: "429") == .ratelimited)
        #expect(FailureClass.of(code: "503") == .unavailable)
        #expect(FailureClass.of(code: "error") == .unavailable)
    }

    @Test("a failed lookup counts kate_registry_resolve_failures_total{class}; requests carry their class")
    func metricsByClass() async throws {
        try await TestRegistry.withRunning(.basicAuthTLS(user: "alice", password: "right")) { registry in
            _ = try await registry.push(repository: "private/app", tag: "v1")
            let metrics = TestMetrics()
            let resolver = makeResolver(for: registry, metrics: metrics)
            let reference = try ImageReference.parse("\(registry.host)/private/app:v1")
            await #expect(throws: RegistryError.self) { try await resolver.resolve(reference, deadline: soon()) }
            await #expect(throws: RegistryError.self) { try await resolver.resolve(reference.withTag("v1"), deadline: soon()) }
            #expect(metrics.counterTotal(label: "kate_registry_resolve_failures_total", dimensions: [("class", "auth")]) == 2)
            #expect(metrics.counterTotal(label: "kate_registry_resolve_failures_total", dimensions: [("class", "absent")]) == 0)
            #expect(metrics.counterTotal(label: "kate_registry_requests_total", dimensions: [("code", "401"), ("class", "auth")]) >= 1)
        }
    }
}
