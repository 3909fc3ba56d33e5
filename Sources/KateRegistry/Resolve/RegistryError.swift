import Foundation

/// A failed lookup, phrased so the person reading it knows what to change.
public struct RegistryError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
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
    /// A transport failure (no HTTP answer): remembered briefly, apart from not-found/unauthorized.
    var isTransportFailure: Bool { transportFailure }
    private let transportFailure: Bool

    public init(
        _ kind: Kind, registry: String, repository: String, tag: String? = nil, detail: String,
        checkedSources: [String] = [], status: Int? = nil, retryAfter: Duration? = nil,
        unreachableSince: Date? = nil, remedy: String? = nil
    ) {
        self.init(
            kind, registry: registry, repository: repository, tag: tag, detail: detail, checkedSources: checkedSources, status: status,
            retryAfter: retryAfter, unreachableSince: unreachableSince, remedy: remedy, transportFailure: false)
    }

    init(
        _ kind: Kind, registry: String, repository: String, tag: String?, detail: String,
        checkedSources: [String], status: Int?, retryAfter: Duration?, unreachableSince: Date?, remedy: String?, transportFailure: Bool
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
    }

    /// This transport failure as later callers get it from memory: the registry has been
    /// unreachable since `since` (the failure itself says why).
    func remembered(since: Date) -> RegistryError {
        RegistryError(
            .network, registry: registry, repository: repository, tag: tag, detail: detail, checkedSources: checkedSources, status: status,
            retryAfter: retryAfter, unreachableSince: unreachableSince ?? since, remedy: remedy, transportFailure: true)
    }

    /// Transient failures: worth a retry, and worth serving a last-known digest for.
    public var isTransient: Bool {
        switch kind {
        case .timeout, .rateLimited, .server, .network: true
        case .unauthorized, .tagNotFound, .repositoryNotFound, .tls, .invalidResponse: false
        }
    }

    public var description: String {
        let subject = "registry \(registry) repository \(repository)" + (tag.map { " tag \($0)" } ?? "")
        if let unreachableSince {
            return "\(subject): registry unreachable since \(unreachableSince.formatted(.iso8601)) (\(detail)). " + (remedy ?? "Check network policy, DNS and proxies")
        }
        if let remedy { return "\(subject): \(Self.headline(kind)) (\(detail)). \(remedy)" }
        switch kind {
        case .unauthorized:
            let checked = checkedSources.isEmpty ? "no credentials matched (none configured)" : "checked " + checkedSources.joined(separator: ", ")
            return "\(subject): \(detail); \(checked). Add an imagePullSecret with access to \(registry), or fix the docker config"
        case .tagNotFound:
            return "\(subject): tag not found (\(detail)). Check the tag spelling or push it"
        case .repositoryNotFound:
            return "\(subject): repository not found (\(detail)). Check the image name and registry"
        case .tls:
            return "\(subject): TLS verification failed: \(detail). Add the registry's CA with --registry-config (caFile)"
        case .timeout:
            return "\(subject): timed out (\(detail)). The registry is slow or unreachable; check network policy and proxies"
        case .rateLimited:
            let wait = retryAfter.map { ", retry after \($0.components.seconds)s" } ?? ""
            return "\(subject): rate limited (\(detail)\(wait)). Authenticate to raise the limit or configure a mirror"
        case .server:
            return "\(subject): registry error (\(detail)). Retry later"
        case .network:
            return "\(subject): \(detail). Check DNS, proxy settings and that the registry is reachable"
        case .invalidResponse:
            return "\(subject): invalid registry response (\(detail))"
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
