import Foundation

/// A failed lookup, phrased so the person reading it knows what to change.
public struct RegistryError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        case unauthorized, tagNotFound, repositoryNotFound, tls, timeout, rateLimited, server, network, invalidResponse
    }

    public let kind: Kind
    /// The registry host as the image names it (`docker.io`, `127.0.0.1:5000`).
    public let registry: String
    public let repository: String
    public let tag: String?
    /// What happened, without the registry/repository prefix.
    public let detail: String
    /// For `.unauthorized`: every credential source consulted, in order.
    public let checkedSources: [String]
    /// HTTP status when one was received.
    public let status: Int?
    /// For `.rateLimited`: the registry's `Retry-After`.
    public let retryAfter: Duration?
    /// Set when the lookup was not even tried because the registry host has failed in transport
    /// since this time (its circuit is open): admission can say "unreachable since T".
    public let unreachableSince: Date?
    /// Replaces the kind's usual advice when the failure calls for a different fix.
    public let remedy: String?
    /// For `.unauthorized`: the credentials that matched this image and were sent ("imagePullSecret
    /// team-a/regcred (ghcr.io)"), so the advice can name the Secret to fix; empty when none matched.
    public let matchedSources: [String]
    /// For `.unauthorized`: a credential was accepted but its token lacks the pull scope (the
    /// registry's `insufficient_scope`), as opposed to no or a refused credential.
    let scopeDenied: Bool
    /// A transport failure (no HTTP answer): remembered briefly, apart from not-found/unauthorized.
    var isTransportFailure: Bool { transportFailure }
    private let transportFailure: Bool

    public init(
        _ kind: Kind, registry: String, repository: String, tag: String? = nil, detail: String,
        checkedSources: [String] = [], status: Int? = nil, retryAfter: Duration? = nil,
        unreachableSince: Date? = nil, remedy: String? = nil, matchedSources: [String] = []
    ) {
        self.init(
            kind, registry: registry, repository: repository, tag: tag, detail: detail, checkedSources: checkedSources, status: status,
            retryAfter: retryAfter, unreachableSince: unreachableSince, remedy: remedy, transportFailure: false, matchedSources: matchedSources)
    }

    init(
        _ kind: Kind, registry: String, repository: String, tag: String?, detail: String,
        checkedSources: [String], status: Int?, retryAfter: Duration?, unreachableSince: Date?, remedy: String?, transportFailure: Bool,
        matchedSources: [String] = [], scopeDenied: Bool = false
    ) {
        self.kind = kind
        self.registry = registry
        self.repository = repository
        self.tag = tag
        self.detail = detail
        self.checkedSources = checkedSources
        self.status = status
        self.retryAfter = retryAfter
        self.unreachableSince = unreachableSince
        self.remedy = remedy
        self.transportFailure = transportFailure
        self.matchedSources = matchedSources
        self.scopeDenied = scopeDenied
    }

    /// This transport failure as later callers get it from memory: the registry has been
    /// unreachable since `since` (the failure itself says why).
    func remembered(since: Date) -> RegistryError { unreachable(since: since, kind: .network, transportFailure: true) }

    /// This failure, of its own kind, for a caller whose lookup was the half-open probe of a registry unreachable
    /// since `since`: it says since when, like the answers of the open circuit around it.
    func duringOutage(since: Date) -> RegistryError { unreachable(since: since, kind: kind, transportFailure: transportFailure) }

    /// This error with `since` as the start of the registry's outage (unless it already names one), as `kind`.
    private func unreachable(since: Date, kind: Kind, transportFailure: Bool) -> RegistryError {
        RegistryError(
            kind, registry: registry, repository: repository, tag: tag, detail: detail, checkedSources: checkedSources, status: status,
            retryAfter: retryAfter, unreachableSince: unreachableSince ?? since, remedy: remedy, transportFailure: transportFailure,
            matchedSources: matchedSources, scopeDenied: scopeDenied)
    }

    /// Transient failures: worth a retry, and worth serving a last-known digest for.
    public var isTransient: Bool {
        switch kind {
        case .timeout, .rateLimited, .server, .network: true
        case .unauthorized, .tagNotFound, .repositoryNotFound, .tls, .invalidResponse: false
        }
    }

    /// The taxonomy class (`auth`, `absent`, …) shown in warnings, verdicts, logs and metric labels.
    public var failureClass: FailureClass {
        switch kind {
        case .unauthorized: status == 403 || scopeDenied ? .authz : .auth
        case .tagNotFound, .repositoryNotFound: .absent
        case .tls, .server, .network, .invalidResponse: .unavailable
        case .timeout: .timeout
        case .rateLimited: .ratelimited
        }
    }

    /// What to do about it, naming the Secret, file or flag to change.
    public var fix: String {
        if let remedy { return remedy }
        if unreachableSince != nil { return "Check network policy, DNS and proxies (HTTPS_PROXY, NO_PROXY) for \(registry)" }
        switch kind {
        case .unauthorized:
            if failureClass == .authz {
                let who = matchedSources.first ?? "the credential"
                return "\(who) was accepted but has no pull access to \(repository) (or the repository does not exist): grant it read access, or use a Secret that has it"
            }
            if matchedSources.isEmpty {
                return "No credential matches \(registry): add an imagePullSecret with an auths entry for \(registry) to the pod or its ServiceAccount, or pass --docker-config"
            }
            return "Check \(matchedSources.joined(separator: ", ")): \(registry) refused it; fix its username/password or token (kubectl create secret docker-registry …)"
        case .tagNotFound: return "Check the tag spelling or push it"
        case .repositoryNotFound: return "Check the image name and registry"
        case .tls: return "Add the registry's CA with --registry-config (caFile)"
        case .timeout: return "The registry is slow or unreachable; check network policy and proxies, or raise --registry-timeout"
        case .rateLimited: return "Authenticate to \(registry) (an imagePullSecret or --docker-config) to raise the limit, or configure a mirror in --registry-config"
        case .server: return "Retry later, or configure a mirror for \(registry) in --registry-config"
        case .network: return "Check DNS, proxy settings (HTTPS_PROXY, NO_PROXY) and that the registry is reachable"
        case .invalidResponse: return "Check that \(registry) is an OCI registry (not a proxy or login page) and serves this manifest intact"
        }
    }

    public var description: String {
        let subject = "registry \(registry) repository \(repository)" + (tag.map { " tag \($0)" } ?? "")
        if let unreachableSince {
            return "\(subject): registry unreachable since \(unreachableSince.formatted(.iso8601)) (\(detail)). " + fix
        }
        if remedy != nil { return "\(subject): \(Self.headline(kind)) (\(detail)). \(fix)" }
        switch kind {
        case .unauthorized:
            let checked = checkedSources.isEmpty ? "no credentials matched (none configured)" : "checked " + checkedSources.joined(separator: ", ")
            return "\(subject): \(detail); \(checked). \(fix)"
        case .tagNotFound:
            return "\(subject): tag not found (\(detail)). \(fix)"
        case .repositoryNotFound:
            return "\(subject): repository not found (\(detail)). \(fix)"
        case .tls:
            return "\(subject): TLS verification failed: \(detail). \(fix)"
        case .timeout:
            return "\(subject): timed out (\(detail)). \(fix)"
        case .rateLimited:
            let wait = retryAfter.map { ", retry after \($0.components.seconds)s" } ?? ""
            return "\(subject): rate limited (\(detail)\(wait)). \(fix)"
        case .server:
            return "\(subject): registry error (\(detail)). \(fix)"
        case .network:
            return "\(subject): \(detail). \(fix)"
        case .invalidResponse:
            return "\(subject): invalid registry response (\(detail)). \(fix)"
        }
    }

    private static func headline(_ kind: Kind) -> String {
        switch kind {
        case .unauthorized: "unauthorized"
        case .tagNotFound: "tag not found"
        case .repositoryNotFound: "repository not found"
        case .tls: "TLS handshake failed"
        case .timeout: "timed out"
        case .rateLimited: "rate limited"
        case .server: "registry error"
        case .network: "network error"
        case .invalidResponse: "invalid registry response"
        }
    }
}
