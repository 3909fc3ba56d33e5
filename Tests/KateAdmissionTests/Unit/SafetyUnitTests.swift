import Foundation
import KateAdmission
import KateKube
import KateRegistry
import Logging
import Synchronization
import Testing

/// The revision memory's dangling check and the platform gate with scripted answers.
@Suite("Admission safety units")
struct SafetyUnitTests {
    final class ScriptedPresence: DigestPresenceChecking {
        let answer: Mutex<DigestPresence>
        let calls = Mutex(0)
        init(_ answer: DigestPresence) { self.answer = Mutex(answer) }
        func presence(of reference: ImageReference, digest: String, keyring: Keyring, deadline: ContinuousClock.Instant) async -> DigestPresence {
            calls.withLock { $0 += 1 }
            return answer.withLock { $0 }
        }
    }

    static let revision = RevisionMemory.Revision(namespace: "shop", ownerUID: "rs-uid", hash: "7c5d")
    static let digest = "sha256:" + String(repeating: "a", count: 64)

    final class Counter: Sendable {
        let value = Mutex(0)
        func increment() { value.withLock { $0 += 1 } }
        var count: Int { value.withLock { $0 } }
    }

    func remembered(_ memory: RevisionMemory, _ reference: ImageReference, credentialCalls: Counter? = nil) async -> [ImageReference: RevisionMemory.Entry] {
        await memory.usableDigests(for: [reference], in: Self.revision, credentials: {
            credentialCalls?.increment()
            return .empty
        }, deadline: .now + .seconds(5))
    }

    @Test("a 404 drops the entry (and is remembered); a 2xx is cached; unknown keeps the digest and asks again")
    func presenceSemantics() async throws {
        let reference = try ImageReference.parse("registry.local/web:1")
        let checker = ScriptedPresence(.present)
        let memory = RevisionMemory(presence: checker)
        memory.remember(.init(digest: Self.digest, resolvedAt: Date()), for: reference, in: Self.revision)
        let credentials = Counter()
        #expect(await remembered(memory, reference, credentialCalls: credentials)[reference]?.digest == Self.digest)
        #expect(await remembered(memory, reference, credentialCalls: credentials)[reference]?.digest == Self.digest)
        #expect(checker.calls.withLock { $0 } == 1, "a present answer is cached")
        #expect(credentials.count == 1, "credentials are read only for a HEAD")

        let unknown = ScriptedPresence(.unknown("503"))
        let flaky = RevisionMemory(presence: unknown)
        flaky.remember(.init(digest: Self.digest, resolvedAt: Date()), for: reference, in: Self.revision)
        #expect(await remembered(flaky, reference)[reference] != nil)
        #expect(await remembered(flaky, reference)[reference] != nil)
        #expect(unknown.calls.withLock { $0 } == 2, "unknown is not cached")

        let gone = ScriptedPresence(.missing("404"))
        let dangling = RevisionMemory(presence: gone)
        dangling.remember(.init(digest: Self.digest, resolvedAt: Date()), for: reference, in: Self.revision)
        #expect(await remembered(dangling, reference).isEmpty)
        #expect(dangling.digest(for: reference, in: Self.revision) == nil, "the dangling entry is forgotten")
        #expect(dangling.isKnownDangling(reference, digest: Self.digest))
        // Remembered again (say another replica pinned it): known dangling without a second HEAD.
        dangling.remember(.init(digest: Self.digest, resolvedAt: Date()), for: reference, in: Self.revision)
        #expect(await remembered(dangling, reference).isEmpty)
        #expect(gone.calls.withLock { $0 } == 1)

        let off = RevisionMemory()
        off.remember(.init(digest: Self.digest, resolvedAt: Date()), for: reference, in: Self.revision)
        #expect(await remembered(off, reference)[reference] != nil)
    }

    struct FixedNodes: NodePlatformProviding {
        var platforms: Set<Platform>?
        func platforms(deadline: ContinuousClock.Instant, logger: Logger) async -> Set<Platform>? { platforms }
    }

    final class ScriptedLister: PlatformListing {
        let lists: [String: PlatformList]
        let calls = Mutex(0)
        init(_ lists: [String: PlatformList]) { self.lists = lists }
        func platformList(of reference: ImageReference, digest: String, keyring: Keyring, deadline: ContinuousClock.Instant) async throws -> PlatformList {
            calls.withLock { $0 += 1 }
            guard let list = lists[digest] else { throw RegistryError(.server, registry: "r", repository: "x", detail: "503") }
            return list
        }
    }

    @Test("the gate: accepted digests cost no request; a gap keeps the previous digest; unknown lets it through")
    func gate() async throws {
        let amd = Platform(os: "linux", architecture: "amd64"), arm = Platform(os: "linux", architecture: "arm64")
        let both = "sha256:" + String(repeating: "b", count: 64), amdOnly = "sha256:" + String(repeating: "c", count: 64)
        let lister = ScriptedLister([both: .index([amd, arm]), amdOnly: .index([amd])])
        let gate = PlatformGate(lister: lister, nodes: FixedNodes(platforms: [amd, arm]))
        let reference = try ImageReference.parse("registry.local/web:1")
        let logger = Logger(label: "test")
        func review(_ digest: String, selection: PlatformSelection? = nil, record: Bool = true) async -> PlatformGate.Decision {
            await gate.review(reference, digest: digest, keyring: .empty, selection: selection, deadline: .now + .seconds(5), record: record, logger: logger)
        }
        #expect(await review(both) == .accept)
        #expect(await review(both) == .accept)
        #expect(lister.calls.withLock { $0 } == 1)
        #expect(await review(amdOnly) == .keep(previous: both, missing: [arm]))
        #expect(gate.acceptedDigest(for: reference) == both)
        #expect(await review(amdOnly, selection: PlatformSelection(architectures: ["amd64"])) == .accept)
        #expect(gate.acceptedDigest(for: reference) == both, "a selection's acceptance is not the tag's")
        let unreadable = "sha256:" + String(repeating: "d", count: 64)
        #expect(await review(unreadable) == .accept)
        #expect(gate.acceptedDigest(for: reference) == both, "an unread index is not recorded: checked again next time")
        let dry = PlatformGate(lister: lister, nodes: FixedNodes(platforms: [amd]))
        _ = await dry.review(reference, digest: amdOnly, keyring: .empty, selection: nil, deadline: .now + .seconds(5), record: false, logger: logger)
        #expect(dry.acceptedDigest(for: reference) == nil)
        let blind = PlatformGate(lister: lister, nodes: FixedNodes(platforms: nil))
        #expect(await blind.review(reference, digest: amdOnly, keyring: .empty, selection: nil, deadline: .now + .seconds(5), record: true, logger: logger) == .accept)
    }

    @Test("platform selection from nodeSelector and required node affinity")
    func selection() {
        #expect(PodSpec(containers: []).platformSelection == nil)
        let selector = PodSpec(containers: [], nodeSelector: ["kubernetes.io/arch": "arm64", "disk": "ssd"])
        #expect(selector.platformSelection == PlatformSelection(architectures: ["arm64"]))
        func term(_ key: String, _ op: String, _ values: [String]) -> Affinity.Term {
            Affinity.Term(matchExpressions: [Affinity.Requirement(key: key, operator: op, values: values)])
        }
        let affinity = PodSpec(containers: [], affinity: Affinity(nodeAffinity: .init(required: .init(terms: [
            term("kubernetes.io/arch", "In", ["amd64"]), term("kubernetes.io/arch", "In", ["arm64", "s390x"]),
        ]))))
        #expect(affinity.platformSelection == PlatformSelection(architectures: ["amd64", "arm64", "s390x"]))
        let open = PodSpec(containers: [], affinity: Affinity(nodeAffinity: .init(required: .init(terms: [
            term("kubernetes.io/arch", "In", ["amd64"]), term("zone", "In", ["a"]),
        ]))))
        #expect(open.platformSelection == nil, "a term without an arch constraint allows any arch")
        let nodes = [(os: "linux", architecture: "amd64"), (os: "windows", architecture: "amd64")]
        #expect(PlatformSelection(architectures: ["arm64"]).required(nodes: nodes).map { "\($0.os)/\($0.architecture)" } == ["linux/arm64", "windows/arm64"])
        #expect(PlatformSelection(operatingSystems: ["linux"]).required(nodes: nodes).map { "\($0.os)/\($0.architecture)" } == ["linux/amd64"])
    }

    @Test("the review decoder reads nodeSelector and required node affinity")
    func decoderReadsPlacement() throws {
        let review = try Fixtures.review(Fixtures.podCreate, edits: """
            [{"op":"add","path":"/request/object/spec/nodeSelector","value":{"kubernetes.io/os":"linux"}},
             {"op":"add","path":"/request/object/spec/affinity","value":{"podAntiAffinity":{},"nodeAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[],
               "requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"kubernetes.io/arch","operator":"In","values":["arm64"]}],"matchFields":[]}]}}}}]
            """)
        let pod = try #require(try Fixtures.request(review).object)
        #expect(pod.spec.platformSelection == PlatformSelection(operatingSystems: ["linux"], architectures: ["arm64"]))
    }
}
