import Foundation
import KateRegistry
import Testing

@testable import KateAdmission

@Suite("Webhook warnings use the failure taxonomy and say what to do")
struct FailureWarningTests {
    static let image = "registry.acme.example:5000/shop/web:2.4.1"

    static func registryError(_ kind: RegistryError.Kind, status: Int? = nil, matched: [String] = []) -> RegistryError {
        RegistryError(kind, registry: "registry.acme.example:5000", repository: "shop/web", tag: "2.4.1", detail: "scripted", status: status, matchedSources: matched)
    }

    @Test("every RegistryError kind: the warning carries its class in brackets and a fix, within 120 characters")
    func everyKindWarns() {
        for kind in RegistryError.Kind.allCases {
            let error = Self.registryError(kind)
            let failure = ResolutionFailure.classify(error, image: Self.image)
            #expect(failure.kind == error.failureClass, "\(kind)")
            #expect(failure.reason.contains("[\(error.failureClass.rawValue)]; "), "\(kind): \(failure.reason)")
            let fix = failure.reason.components(separatedBy: "]; ").last ?? ""
            #expect(fix.count >= 8, "\(kind): no fix in \(failure.reason)")
            #expect(failure.detail == error.description)
            let warning = WarningText.compose(image: Self.image, "not pinned: \(failure.reason)")
            #expect(warning.count <= WarningText.limit && warning.hasSuffix(failure.reason), "\(kind): \(warning)")
        }
    }

    @Test("a refused secret is named; no secret says to add one; 403 is authz")
    func credentialWarnings() {
        let refused = ResolutionFailure.classify(
            Self.registryError(.unauthorized, status: 401, matched: ["imagePullSecret shop/regcred (registry.acme.example:5000)"]), image: Self.image)
        #expect(refused.kind == .auth)
        #expect(refused.reason == "registry denied access (401) [auth]; check imagePullSecret shop/regcred")
        let none = ResolutionFailure.classify(Self.registryError(.unauthorized, status: 401), image: Self.image)
        #expect(none.reason.hasSuffix("[auth]; add an imagePullSecret for registry.acme.example:5000"))
        let forbidden = ResolutionFailure.classify(
            Self.registryError(.unauthorized, status: 403, matched: ["imagePullSecret shop/regcred (registry.acme.example:5000)"]), image: Self.image)
        #expect(forbidden.kind == .authz && forbidden.reason.hasSuffix("[authz]; imagePullSecret shop/regcred lacks pull access"))
        #expect(!forbidden.isTransient && ResolutionFailure.classify(Self.registryError(.rateLimited), image: Self.image).isTransient)
    }

    @Test("a reference that does not parse is bad-reference; a cancelled lookup is timeout")
    func otherErrors() throws {
        let parse = try #require(throws: ImageReferenceError.self) { try ImageReference.parse("UPPER/Case::x") }
        #expect(ResolutionFailure.classify(parse, image: "UPPER/Case::x").kind == .badReference)
        #expect(ResolutionFailure.classify(CancellationError(), image: Self.image).kind == .timeout)
    }
}
