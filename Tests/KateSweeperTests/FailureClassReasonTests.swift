import KateRegistry
import Logging
import Testing

@testable import KateSweeper

/// A registry that fails every lookup with one error.
private struct FailingResolver: TagResolving {
    let error: RegistryError

    func currentDigest(of reference: ImageReference, keyring: Keyring, deadline: ContinuousClock.Instant) async throws -> String { throw error }
    func platformDigests(of reference: ImageReference, indexDigest: String, keyring: Keyring, deadline: ContinuousClock.Instant) async throws -> Set<String> {
        throw error
    }
}

@Suite("Sweeper verdict reasons carry the failure class")
struct FailureClassReasonTests {
    static let image = TrackedImage(display: "registry.acme.example:5000/shop/web:2.4.1", canonicalName: "registry.acme.example:5000/shop/web", tag: "2.4.1")

    @Test("a lookup failure becomes an unknown verdict whose reason starts with its class and ends with the fix",
          arguments: [(RegistryError.Kind.unauthorized, "auth"), (.tagNotFound, "absent"), (.rateLimited, "ratelimited"), (.timeout, "timeout"), (.network, "unavailable")])
    func reasonHasClass(kind: RegistryError.Kind, expected: String) async throws {
        let error = RegistryError(kind, registry: "registry.acme.example:5000", repository: "shop/web", tag: "2.4.1", detail: "scripted")
        let request = ResolutionTable.Request(key: ResolveKey(image: Self.image, scope: CredentialScope(secrets: [])), keyring: .empty)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let answer = await ResolutionTable.indexDigest(request, resolver: FailingResolver(error: error), timeout: .seconds(1), logger: logger)
        let table = await ResolutionTable.complete([request.key: answer], observed: [:], resolver: FailingResolver(error: error), concurrency: 1, timeout: .seconds(1))
        guard case .failed(let message) = try #require(table[request.key]) else {
            Issue.record("not failed")
            return
        }
        #expect(message.hasPrefix("registry [\(expected)]: "), "\(message)")
        #expect(message.hasSuffix(error.fix))
    }

    @Test("a tag that does not parse is bad-reference")
    func badReference() async throws {
        let image = TrackedImage(display: "x", canonicalName: "Not/Valid", tag: "::")
        let request = ResolutionTable.Request(key: ResolveKey(image: image, scope: CredentialScope(secrets: [])), keyring: .empty)
        let error = RegistryError(.network, registry: "r", repository: "p", detail: "unused")
        let answer = await ResolutionTable.indexDigest(request, resolver: FailingResolver(error: error), timeout: .seconds(1), logger: Logger(label: "test"))
        guard case .failure(let failure) = answer.digest else {
            Issue.record("parsed")
            return
        }
        #expect(failure.message.hasPrefix("registry [bad-reference]: "), "\(failure.message)")
    }
}
