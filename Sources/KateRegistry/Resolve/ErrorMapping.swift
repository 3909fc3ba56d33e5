import Foundation
import KateNet

/// Turns the layers' internal failures into one `RegistryError` that names the registry,
/// repository, tag and — for 401 — every credential source that was consulted.
struct ErrorMapping {
    let reference: ImageReference
    let keyring: Keyring
    let credentials: [Credential]

    func map(_ error: any Error, host: String) -> RegistryError {
        switch error {
        case let e as RegistryError:
            return e
        case let e as AuthorizedExchange.Unauthorized:
            let detail = credentials.isEmpty ? "\(host) \(e.detail); no credentials matched this image" : "\(host) \(e.detail)"
            return make(.unauthorized, detail, status: e.status, checked: keyring.labels.isEmpty ? [] : keyring.labels, scopeDenied: e.scopeDenied)
        case let e as ManifestFailure:
            return map(e, host: host)
        case let e as TransportFailure:
            return map(e, host: host)
        case let e as AuthFailure:
            switch e {
            case .rejected(let realm, let status):
                return make(.unauthorized, "token endpoint \(realm) answered \(status)", status: status, checked: keyring.labels)
            case .tokenEndpoint(let realm, let detail):
                return make(.server, "token endpoint \(realm): \(detail)")
            case .transport(let failure):
                return map(failure, host: host)
            }
        case let e as SingleFlightWaitTimedOut:
            // The lookup this caller shared hung at some step: name it, not the sharing.
            return make(.timeout, e.step.map { "\(host): \($0)" } ?? "\(host): no answer before the deadline")
        case is CancellationError:
            return make(.timeout, "\(host): lookup cancelled")
        default:
            return make(.network, "\(host): \(error)")
        }
    }

    private func map(_ failure: ManifestFailure, host: String) -> RegistryError {
        switch failure {
        case .mismatch(let detail):
            return make(.invalidResponse, "\(host): \(detail)")
        case .status(let response):
            let codes = ManifestDocument.errorCodes(of: response.body)
            switch response.status {
            case 404:
                if codes.contains("NAME_UNKNOWN") { return make(.repositoryNotFound, "\(host) answered 404 NAME_UNKNOWN", status: 404) }
                let code = codes.first ?? "404"
                return make(.tagNotFound, "\(host) answered 404 \(code)", status: 404)
            case 401, 403:
                return make(.unauthorized, "\(host) answered \(response.status) \(codes.first ?? "")", status: response.status, checked: keyring.labels)
            case 429:
                let retry = RetryAfter.parse(response.headers["Retry-After"])
                return make(.rateLimited, "\(host) answered 429 \(codes.first ?? "TOOMANYREQUESTS")", status: 429, retryAfter: retry)
            case 500...599:
                return make(.server, "\(host) answered \(response.status)", status: response.status)
            default:
                return make(.invalidResponse, "\(host) answered \(response.status) \(codes.first ?? "")", status: response.status)
            }
        }
    }

    private func map(_ failure: TransportFailure, host: String) -> RegistryError {
        switch failure {
        case .timedOut(let host, let step):
            return make(.timeout, "\(host): \(step)", transport: true)
        case .circuitOpen(let host, let outage):
            let retry = max(Duration.zero, outage.retryAt - .now)
            let detail = "\(host) failed \(outage.failures) time\(outage.failures == 1 ? "" : "s") in a row, last: \(outage.lastFailure); "
                + "not asked again for \(LookupProgress.seconds(retry))"
            return RegistryError(
                .network, registry: reference.registry, repository: reference.repository, tag: reference.trackedTag, detail: detail,
                checkedSources: [], status: nil, retryAfter: nil, unreachableSince: outage.since, remedy: nil, transportFailure: false)
        case .queueTimeout(let host):
            return make(.timeout, "\(host) during waiting for a free connection slot (raise --registry-concurrency?)")
        case .redirect(let detail):
            return make(.invalidResponse, detail)
        case .client(let error):
            switch error {
            case .tlsFailure(let host, let message) where TLSDiagnosis.serverSpeaksPlainHTTP(message):
                let name = reference.registry
                return make(
                    .tls, "\(host) speaks plain HTTP, not HTTPS (TLS: \(message))", transport: true,
                    remedy: "If this registry really serves plain HTTP, set \"plainHTTP\": true for \(name) in the --registry-config file "
                        + "or pass --insecure-registry \(name); kate falls back to HTTP by itself only for loopback hosts")
            case .tlsFailure(let host, let message): return make(.tls, "\(host): \(message)", transport: true)
            case .timeout(let host, let phase): return make(.timeout, "\(host) during \(phase)", transport: true)
            case .invalidURL(let url): return make(.invalidResponse, "invalid URL \(url)")
            case .connectFailed, .connectionClosed, .dnsFailure: return make(.network, error.description, transport: true)
            default: return make(.network, error.description)
            }
        }
    }

    private func make(
        _ kind: RegistryError.Kind, _ detail: String, status: Int? = nil, checked: [String] = [], retryAfter: Duration? = nil,
        transport: Bool = false, remedy: String? = nil, scopeDenied: Bool = false
    ) -> RegistryError {
        // The credentials that were sent, named in the advice of a credential failure.
        var matched: [String] = []
        if kind == .unauthorized { for credential in credentials where !matched.contains(credential.label) { matched.append(credential.label) } }
        return RegistryError(
            kind, registry: reference.registry, repository: reference.repository, tag: reference.trackedTag,
            detail: detail, checkedSources: checked, status: status, retryAfter: retryAfter, unreachableSince: nil, remedy: remedy,
            transportFailure: transport, matchedSources: matched, scopeDenied: scopeDenied)
    }
}
