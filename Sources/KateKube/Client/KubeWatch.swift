import Foundation
import KateNet
import Metrics

/// What a watch delivers, in the order the API server committed it.
public enum WatchEvent<Object: KubeObject>: Sendable {
    /// The complete current state: first (unless the watch was given a resourceVersion to start
    /// after), and again whenever the server no longer had the changes since the last one seen
    /// (410 Gone) and the watch had to list again. Replace whatever you hold with it.
    case listed([Object], resourceVersion: String)
    case added(Object)
    case modified(Object)
    case deleted(Object)
    /// Nothing changed up to `resourceVersion` (sent only to keep a resume point fresh).
    case bookmark(resourceVersion: String)
}

/// A long-running watch on one resource, as client-go's reflector runs it: list, then
/// `?watch=true&resourceVersion=…&allowWatchBookmarks=true`, decoding the chunked newline-delimited
/// JSON events as they arrive. A dropped connection or an ended watch resumes from the last
/// resourceVersion seen (bookmarks included); a 410 Gone — an ERROR event with code 410 or an HTTP
/// 410 — lists again. Cancelling the consuming task ends it (the iterator throws
/// `CancellationError`); so does leaving the `for` loop (the connection is released with the iterator).
///
/// Connection failures and 5xx/429 answers retry with the client's `RetryPolicy` backoff; after
/// `policy.maxAttempts` consecutive failures the error is thrown. Other answers (403, 404) throw at once.
public struct KubeWatch<Object: KubeObject>: AsyncSequence {
    public typealias Element = WatchEvent<Object>

    let client: KubeClient
    let resource: ResourcePath
    let namespace: String?
    let labelSelector: String?
    let fieldSelector: String?
    let startAfter: String?
    /// What the server is asked for (`timeoutSeconds`); it then ends the watch and we resume.
    let serverTimeout: Duration

    public func makeAsyncIterator() -> Iterator {
        Iterator(watch: self, resourceVersion: startAfter)
    }

    public struct Iterator: AsyncIteratorProtocol {
        let watch: KubeWatch
        /// The resume point; nil means "list first".
        var resourceVersion: String?
        private var response: HTTPStreamingResponse?
        private var lines = LineSplitter()
        private var failures = 0
        /// When the current watch request was opened: one the server ends within 100 ms counts as a failure.
        private var openedAt = ContinuousClock.now

        init(watch: KubeWatch, resourceVersion: String?) {
            self.watch = watch
            self.resourceVersion = resourceVersion
        }

        public mutating func next() async throws -> WatchEvent<Object>? {
            while true {
                try Task.checkCancellation()
                if let line = lines.next() {
                    if let event = try await decode(line) { return event }
                    continue
                }
                guard let response else {
                    guard let resourceVersion else { return try await relist() }
                    self.response = try await open(from: resourceVersion)
                    openedAt = .now
                    continue
                }
                let bytes: [UInt8]?
                do {
                    // The server ends the watch at `serverTimeout`; silence well past it means a dead connection.
                    bytes = try await response.nextBodyBytes(deadline: .now + watch.serverTimeout + .seconds(30))
                } catch let error as HTTPClientError {
                    try await dropped(because: "\(error)")
                    continue
                }
                guard let bytes else {
                    // The server ended the watch (its timeout): resume where it left off. One that ends
                    // as soon as it opened (a proxy answering an empty 200) backs off instead of spinning.
                    self.response = nil
                    lines = LineSplitter()
                    if ContinuousClock.now - openedAt < .milliseconds(100) { try await dropped(because: "the server ended the watch as soon as it opened") }
                    continue
                }
                lines.append(bytes)
            }
        }

        // MARK: - Steps

        private mutating func relist() async throws -> WatchEvent<Object> {
            while true {
                do {
                    let (items, version) = try await watch.client.listWithVersion(
                        Object.self, watch.resource, namespace: watch.namespace, labelSelector: watch.labelSelector, fieldSelector: watch.fieldSelector
                    )
                    failures = 0
                    resourceVersion = version
                    return .listed(items, resourceVersion: version)
                } catch let error as KubeError where error.isRetryableForWatch {
                    try await backoff(error, reason: "list_failed")
                }
            }
        }

        private mutating func open(from version: String) async throws -> HTTPStreamingResponse? {
            do {
                let opened = try await watch.client.openWatch(
                    watch.resource, namespace: watch.namespace, resourceVersion: version, labelSelector: watch.labelSelector,
                    fieldSelector: watch.fieldSelector, timeout: watch.serverTimeout
                )
                lines = LineSplitter()
                return opened
            } catch let error as KubeError where error.isGone {
                restart(reason: "gone")
                return nil
            } catch let error as KubeError where error.isRetryableForWatch {
                try await backoff(error, reason: "watch_failed")
                return nil
            }
        }

        private mutating func decode(_ line: ArraySlice<UInt8>) async throws -> WatchEvent<Object>? {
            let data = Data(line)
            let head: EventHead
            do {
                head = try JSONDecoder().decode(EventHead.self, from: data)
            } catch {
                try await dropped(because: "undecodable watch event: \(error)")
                return nil
            }
            do {
                switch head.type {
                case "ADDED", "MODIFIED", "DELETED":
                    let object = try JSONDecoder().decode(EventBody<Object>.self, from: data).object
                    failures = 0
                    if let version = object.metadata.resourceVersion { resourceVersion = version }
                    return head.type == "ADDED" ? .added(object) : head.type == "MODIFIED" ? .modified(object) : .deleted(object)
                case "BOOKMARK":
                    let bookmark = try JSONDecoder().decode(EventBody<BookmarkObject>.self, from: data).object
                    guard let version = bookmark.metadata.resourceVersion else { return nil }
                    failures = 0
                    resourceVersion = version
                    return .bookmark(resourceVersion: version)
                case "ERROR":
                    let status = try JSONDecoder().decode(EventBody<APIStatus>.self, from: data).object
                    let error = watch.client.watchError(status, resource: watch.resource, namespace: watch.namespace)
                    await closeResponse()
                    if error.isGone {
                        restart(reason: "gone")
                        return nil
                    }
                    guard error.isRetryableForWatch else { throw error }
                    try await backoff(error, reason: "error_event")
                    return nil
                default:
                    try await dropped(because: "unknown watch event type \(head.type)")
                    return nil
                }
            } catch let error as DecodingError {
                try await dropped(because: "cannot decode a \(head.type) event as \(Object.self): \(error)")
                return nil
            }
        }

        /// The connection failed or carried garbage: resume from the last resourceVersion after a backoff.
        private mutating func dropped(because reason: String) async throws {
            await closeResponse()
            let error = KubeError(
                code: 0, reason: "WatchDropped", message: reason, verb: "watch", resource: watch.resource.resource, namespace: watch.namespace,
                server: watch.client.configuration.server
            )
            try await backoff(error, reason: "dropped")
        }

        /// 410 Gone: what we last saw is older than the server's history; list again.
        private mutating func restart(reason: String) {
            Counter(label: "kate_kube_watch_restarts_total", dimensions: [("resource", watch.resource.resource), ("reason", reason)]).increment()
            watch.client.logger.info("watch resourceVersion expired; listing again", metadata: ["resource": "\(watch.resource.resource)"])
            resourceVersion = nil
            lines = LineSplitter()
        }

        private mutating func backoff(_ error: KubeError, reason: String) async throws {
            failures += 1
            Counter(label: "kate_kube_watch_restarts_total", dimensions: [("resource", watch.resource.resource), ("reason", reason)]).increment()
            let policy = watch.client.configuration.retry
            guard let wait = policy.delay(afterAttempt: failures, retryAfter: error.retryAfter) else { throw error }
            watch.client.logger.debug("watch interrupted; resuming", metadata: [
                "resource": "\(watch.resource.resource)", "error": "\(error)", "attempt": "\(failures)",
            ])
            try await Task.sleep(for: wait)
        }

        private mutating func closeResponse() async {
            await response?.close()
            response = nil
            lines = LineSplitter()
        }
    }

    private struct EventHead: Decodable { var type: String }
    private struct EventBody<Body: Decodable>: Decodable { var object: Body }
    private struct BookmarkObject: Decodable { var metadata: ObjectMeta }
}

/// Splits a byte stream into newline-terminated lines (the watch framing), independent of how
/// the bytes were chunked on the wire.
struct LineSplitter {
    private var buffer: [UInt8] = []
    private var start = 0

    mutating func append(_ bytes: [UInt8]) {
        if start > 0 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete line without its newline; blank lines are skipped.
    mutating func next() -> ArraySlice<UInt8>? {
        while let newline = buffer[start...].firstIndex(of: 0x0A) {
            let line = buffer[start..<newline]
            start = newline + 1
            if !line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { return line }
        }
        return nil
    }
}

extension KubeError {
    /// Worth resuming a watch after: no answer, 5xx, 429 (a 403 or 404 will not fix itself).
    var isRetryableForWatch: Bool { code == 0 || code == 429 || code >= 500 }
}

extension KubeClient {
    /// Watches `resource` (see `KubeWatch`). `resourceVersion` nil starts with a list; given, the
    /// watch starts after it (an event stream only, resuming from there).
    public func watch<Object: KubeObject>(
        _ type: Object.Type, _ resource: ResourcePath, namespace: String? = nil, labelSelector: String? = nil, fieldSelector: String? = nil,
        resourceVersion: String? = nil, serverTimeout: Duration = .seconds(300)
    ) -> KubeWatch<Object> {
        KubeWatch(
            client: self, resource: resource, namespace: namespace, labelSelector: labelSelector, fieldSelector: fieldSelector,
            startAfter: resourceVersion, serverTimeout: serverTimeout
        )
    }

    /// Pods, watched.
    public func watchPods(namespace: String?, labelSelector: String? = nil, resourceVersion: String? = nil) -> KubeWatch<Pod> {
        watch(Pod.self, .pods, namespace: namespace, labelSelector: labelSelector, resourceVersion: resourceVersion)
    }

    /// Every item of a list and the list's resourceVersion (the point a watch continues from).
    func listWithVersion<Item: Decodable & Sendable>(
        _ type: Item.Type, _ resource: ResourcePath, namespace: String?, labelSelector: String?, fieldSelector: String?, pageSize: Int = 500
    ) async throws -> ([Item], String) {
        var restarts = 0
        while true {
            var items: [Item] = []
            var token: String?
            var version = ""
            do {
                repeat {
                    var query: [(String, String)] = [("limit", String(pageSize))]
                    if let token { query.append(("continue", token)) }
                    query += Self.selectorQuery(labelSelector: labelSelector, fieldSelector: fieldSelector)
                    let call = Call(method: "GET", path: resource.path(namespace: namespace), query: query, verb: "list", resource: resource.resource, namespace: namespace)
                    let page = try decode(ObjectList<Item>.self, try await perform(call), call)
                    items += page.items
                    version = page.metadata.resourceVersion ?? version
                    token = page.metadata.continue.flatMap { $0.isEmpty ? nil : $0 }
                } while token != nil
                return (items, version)
            } catch let error as KubeError where error.isGone && restarts < Self.maxListRestarts {
                restarts += 1
            }
        }
    }

    /// Opens the watch request and returns once its head says 200; any other answer is a `KubeError`.
    func openWatch(
        _ resource: ResourcePath, namespace: String?, resourceVersion: String, labelSelector: String?, fieldSelector: String?, timeout: Duration
    ) async throws -> HTTPStreamingResponse {
        var query: [(String, String)] = [
            ("watch", "true"), ("resourceVersion", resourceVersion), ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", String(max(1, timeout.components.seconds))),
        ]
        query += Self.selectorQuery(labelSelector: labelSelector, fieldSelector: fieldSelector)
        let call = Call(method: "GET", path: resource.path(namespace: namespace), query: query, verb: "watch", resource: resource.resource, namespace: namespace)
        var refreshed = false
        while true {
            let started = ContinuousClock.now
            let creds = try await credentials(for: call, refresh: refreshed)
            let response: HTTPStreamingResponse
            do {
                response = try await client(for: creds).stream(request(call, creds), headDeadline: .now + configuration.requestTimeout)
            } catch let error as HTTPClientError {
                record(call, code: "error", since: started)
                throw contextualise(KubeError.connectionFailed(error), call)
            }
            record(call, code: String(response.status), since: started)
            if response.status == 200 { return response }
            let body = (try? await response.collectBody(limit: 64 * 1024, deadline: .now + configuration.requestTimeout)) ?? []
            await response.close()
            let error = contextualise(Self.decodeError(HTTPClientResponse(status: response.status, headers: response.headers, body: body)), call)
            if error.isUnauthorized, credentials.canRefresh, !refreshed {
                refreshed = true
                continue
            }
            throw error
        }
    }

    static func selectorQuery(labelSelector: String?, fieldSelector: String?) -> [(String, String)] {
        var query: [(String, String)] = []
        if let labelSelector, !labelSelector.isEmpty { query.append(("labelSelector", labelSelector)) }
        if let fieldSelector, !fieldSelector.isEmpty { query.append(("fieldSelector", fieldSelector)) }
        return query
    }

    /// An ERROR event's Status as the error of this watch.
    func watchError(_ status: APIStatus, resource: ResourcePath, namespace: String?) -> KubeError {
        let code = status.code ?? 500
        return KubeError(
            code: code, reason: status.reason ?? Self.reason(for: code), message: status.message ?? "", verb: "watch", resource: resource.resource,
            namespace: namespace, retryAfter: status.details?.retryAfterSeconds.map { .seconds($0) }, server: configuration.server
        )
    }
}
