import Foundation
import KateNet
import Logging
import Metrics
import Synchronization

/// A typed client for the few Kubernetes API calls kate makes. One instance per process; safe to
/// share across tasks (connections are pooled by `HTTPClient`).
///
/// Every call maps failures to `KubeError` carrying the verb, resource and namespace. Reads retry
/// on connection errors, 5xx and 429 (honouring Retry-After); writes only when the connection failed
/// before anything was sent. A 401 with a rotating credential (token file, exec plugin) re-reads it
/// and retries once.
public final class KubeClient: Sendable {
    public let configuration: KubeClientConfiguration
    /// Sent as `fieldManager` on every write, so `managedFields` shows who changed what.
    public let fieldManager: String
    let logger: Logger
    let credentials: CredentialProvider
    private let http: HTTPClient
    /// A client for an exec plugin's client certificate, rebuilt when the certificate changes.
    private let execCertificateClient = Mutex<(key: String, client: HTTPClient)?>(nil)

    public init(configuration: KubeClientConfiguration, fieldManager: String = "kate", logger: Logger) {
        self.configuration = configuration
        self.fieldManager = fieldManager
        self.logger = logger
        self.credentials = CredentialProvider(auth: configuration.auth)
        self.http = HTTPClient(configuration: Self.httpConfiguration(configuration, tls: configuration.tls), logger: logger)
    }

    /// Closes pooled connections.
    public func shutdown() async {
        await http.shutdown()
        if let other = execCertificateClient.withLock({ $0?.client }) { await other.shutdown() }
    }

    static func httpConfiguration(_ configuration: KubeClientConfiguration, tls: TLSClientConfiguration) -> HTTPClient.Configuration {
        var proxy: ProxyConfiguration?
        if let url = configuration.proxyURL {
            proxy = ProxyConfiguration(httpProxy: url, httpsProxy: url, noProxy: [])
        } else if !configuration.ignoreEnvironmentProxy {
            proxy = ProxyConfiguration.fromEnvironment()
        }
        return HTTPClient.Configuration(tls: tls, connectTimeout: .seconds(10), proxy: proxy, maxResponseBodyBytes: 256 << 20)
    }

    func client(for credentials: CredentialProvider.Credentials) -> HTTPClient {
        guard let pair = credentials.clientCertificate else { return http }
        let key = pair.certificate + pair.key
        return execCertificateClient.withLock { cached in
            if let cached, cached.key == key { return cached.client }
            var tls = configuration.tls
            tls.clientCertificate = .pem(pair.certificate)
            tls.clientPrivateKey = .pem(pair.key)
            let client = HTTPClient(configuration: Self.httpConfiguration(configuration, tls: tls), logger: logger)
            cached = (key, client)
            return client
        }
    }

    // MARK: - The request loop

    /// One API call as the retry loop needs to know it.
    struct Call: Sendable {
        var method: String
        var path: String
        var query: [(String, String)] = []
        var body: [UInt8] = []
        var contentType: String?
        /// RBAC verb: get, list, patch, create, delete.
        var verb: String
        var resource: String
        var namespace: String?
        var name: String?

        var isIdempotent: Bool { method == "GET" || method == "HEAD" }

        var url: String {
            guard !query.isEmpty else { return path }
            return path + "?" + query.map { "\($0.0)=\(PercentEncoding.queryValue($0.1))" }.joined(separator: "&")
        }
    }

    /// Sends `call` and returns a 2xx response, or throws `KubeError`.
    func perform(_ call: Call) async throws -> HTTPClientResponse {
        let policy = configuration.retry
        var attempt = 0
        var refreshCredentials = false
        var retriedUnauthorized = false
        while true {
            attempt += 1
            try Task.checkCancellation()
            let started = ContinuousClock.now
            let creds = try await credentials(for: call, refresh: refreshCredentials)
            refreshCredentials = false
            let request = self.request(call, creds)
            let response: HTTPClientResponse
            do {
                response = try await client(for: creds).execute(request, deadline: .now + configuration.requestTimeout)
            } catch let error as HTTPClientError {
                record(call, code: "error", since: started)
                let retryable = error.isTransient && (call.isIdempotent || error.happenedBeforeSending)
                logger.debug("kube request failed", metadata: ["verb": "\(call.verb)", "path": "\(call.path)", "error": "\(error)", "attempt": "\(attempt)"])
                if retryable, let wait = policy.delay(afterAttempt: attempt, retryAfter: nil) {
                    try await Task.sleep(for: wait)
                    continue
                }
                throw contextualise(KubeError.connectionFailed(error), call)
            }
            record(call, code: String(response.status), since: started)
            if (200..<300).contains(response.status) { return response }

            let error = contextualise(Self.decodeError(response), call)
            logger.debug("kube request answered \(response.status)", metadata: ["verb": "\(call.verb)", "path": "\(call.path)", "reason": "\(error.reason)"])
            if error.code == 401, credentials.canRefresh, !retriedUnauthorized {
                // The token file may have rotated or the exec credential expired early: read it again, once.
                retriedUnauthorized = true
                refreshCredentials = true
                attempt -= 1
                continue
            }
            // A Retry-After beyond `maxRetryAfter` is not waited out: the caller gets the error with it.
            guard call.isIdempotent, error.code == 429 || error.code >= 500,
                let wait = policy.delay(afterAttempt: attempt, retryAfter: error.retryAfter)
            else { throw error }
            try await Task.sleep(for: wait)
        }
    }

    /// The credentials to send `call` with (read again when `refresh`); a failure names the call.
    func credentials(for call: Call, refresh: Bool) async throws -> CredentialProvider.Credentials {
        do {
            return try await credentials.current(forceRefresh: refresh)
        } catch let error as KubeError {
            throw contextualise(error, call)
        }
    }

    /// `call` as an HTTP request with `creds`.
    func request(_ call: Call, _ creds: CredentialProvider.Credentials) -> HTTPClientRequest {
        // `kate/0.1.0 (kate-webhook)`: the API server's audit log then names kate, its version and which component.
        var headers: HTTPHeaders = ["Accept": "application/json", "User-Agent": "\(KateVersion.userAgent) (\(fieldManager))"]
        if let authorization = creds.authorization { headers.add(name: "Authorization", value: authorization) }
        if let contentType = call.contentType { headers.add(name: "Content-Type", value: contentType) }
        return HTTPClientRequest(method: call.method, url: configuration.server + call.url, headers: headers, body: call.body)
    }

    func contextualise(_ error: KubeError, _ call: Call) -> KubeError {
        error.with(verb: call.verb, resource: call.resource, namespace: call.namespace, name: call.name, server: configuration.server)
    }

    func record(_ call: Call, code: String, since start: ContinuousClock.Instant) {
        let dimensions = [("verb", call.verb), ("resource", call.resource), ("code", code)]
        Counter(label: "kate_kube_requests_total", dimensions: dimensions).increment()
        Metrics.Timer(label: "kate_kube_request_duration_seconds", dimensions: [("verb", call.verb)], preferredDisplayUnit: .seconds)
            .record(duration: ContinuousClock.now - start)
    }

    /// The apiserver's `Status` body, or (from a proxy or a load balancer) whatever text came back.
    static func decodeError(_ response: HTTPClientResponse) -> KubeError {
        let status = try? JSONDecoder().decode(APIStatus.self, from: Data(response.body))
        var retryAfter = RetryAfter.parse(response.headers["Retry-After"])
        if retryAfter == nil, let seconds = status?.details?.retryAfterSeconds, seconds > 0 { retryAfter = .seconds(seconds) }
        if let status, status.kind == "Status" {
            return KubeError(
                code: status.code ?? response.status, reason: status.reason ?? Self.reason(for: response.status),
                message: status.message ?? "", retryAfter: retryAfter
            )
        }
        let text = String(decoding: response.body.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return KubeError(code: response.status, reason: Self.reason(for: response.status), message: text.isEmpty ? "(empty body)" : text, retryAfter: retryAfter)
    }

    /// `metav1.StatusReason` for a bare HTTP status.
    static func reason(for status: Int) -> String {
        switch status {
        case 400: "BadRequest"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "NotFound"
        case 405: "MethodNotAllowed"
        case 409: "Conflict"
        case 410: "Expired"
        case 422: "Invalid"
        case 429: "TooManyRequests"
        case 504: "Timeout"
        case 503: "ServiceUnavailable"
        default: status >= 500 ? "InternalError" : "Unknown"
        }
    }
}

extension HTTPClientError {
    /// Worth another try at all (a bad URL or a certificate mismatch will not fix itself).
    var isTransient: Bool {
        switch self {
        case .invalidURL, .tlsFailure, .malformedResponse: false
        case .dnsFailure, .connectFailed, .timeout, .connectionClosed, .proxyFailure: true
        }
    }

    /// The request cannot have reached the server, so even a write may be retried.
    var happenedBeforeSending: Bool {
        switch self {
        case .dnsFailure, .connectFailed, .proxyFailure: true
        case .timeout(_, let phase): phase == "connect" || phase == "tls" || phase == "proxy"
        case .invalidURL, .tlsFailure, .connectionClosed, .malformedResponse: false
        }
    }
}
