import KateNet

/// `GET …/{resource}?watch=true`: newline-delimited JSON watch events in a chunked body, one chunk
/// per event, as kube-apiserver streams them (`{"type":"ADDED","object":{…}}`).
///
/// - `resourceVersion` unset or "0": synthetic ADDED events for the current objects first, then
///   changes after that state; `N`: changes after N, or, when the history no longer reaches back
///   to N, a single ERROR event with a 410 Expired Status (the watch cache's answer: HTTP 200, then
///   the error as an event), after which the client must list again.
/// - `allowWatchBookmarks=true`: a BOOKMARK (only `metadata.resourceVersion`) every bookmark interval.
/// - `sendInitialEvents=true` (WatchList): the initial ADDED events end with a BOOKMARK annotated
///   `k8s.io/initial-events-end: "true"`.
/// - `labelSelector` / `fieldSelector` filter events; an object that stops matching arrives as
///   DELETED, one that starts matching as ADDED.
/// - `timeoutSeconds` ends the body cleanly (default 1800 s, the apiserver's minimum request timeout).
struct WatchRequest: Sendable {
    enum Start: Sendable, Equatable {
        /// Initial events for the current state, then changes after it.
        case currentState
        case after(Int)
    }

    let type: ResourceType
    let namespace: String?
    let start: Start
    let bookmarks: Bool
    let initialEventsEndBookmark: Bool
    let timeout: Duration
    let labels: LabelSelectorQuery
    let fields: FieldSelectorQuery

    static let defaultTimeout: Duration = .seconds(1800)

    static func isWatch(_ query: [String: String]) -> Bool { query["watch"] == "true" || query["watch"] == "1" }

    /// The request, or the apiserver's 400 for what it cannot parse.
    static func parse(_ api: APIRequest, query: [String: String]) -> Result<WatchRequest, HTTPResponseBox> {
        let labels: LabelSelectorQuery, fields: FieldSelectorQuery
        switch Verbs.selectors(api, query: query) {
        case .success(let parsed): (labels, fields) = parsed
        case .failure(let box): return .failure(box)
        }
        let start: Start
        switch query["resourceVersion"] ?? "" {
        case "", "0": start = .currentState
        case let text:
            guard let version = Int(text), version > 0 else {
                return .failure(HTTPResponseBox(StatusBody.failure(
                    code: 400, reason: "BadRequest", message: "resourceVersion: Invalid value: \"\(text)\": strconv.ParseUint: parsing \"\(text)\": invalid syntax"
                )))
            }
            start = .after(version)
        }
        let sendInitial = query["sendInitialEvents"] == "true"
        let timeout = query["timeoutSeconds"].flatMap { Int($0) }.map { Duration.seconds(max(1, $0)) } ?? defaultTimeout
        return .success(WatchRequest(
            type: api.type, namespace: api.namespace, start: sendInitial ? .currentState : start, bookmarks: query["allowWatchBookmarks"] == "true",
            initialEventsEndBookmark: sendInitial, timeout: timeout, labels: labels, fields: fields
        ))
    }

    func matches(_ object: StoredObject) -> Bool {
        (namespace == nil || object.namespace == namespace) && labels.matches(object.labels) && fields.matches(object.field)
    }

    /// The event this watcher sees for `record`, if any.
    func event(for record: WatchRecord) -> [UInt8]? {
        guard record.type == type else { return nil }
        let now = matches(record.object)
        switch record.kind {
        case .added: return now ? Self.event("ADDED", record.object.bytes) : nil
        case .deleted: return now ? Self.event("DELETED", record.object.bytes) : nil
        case .modified:
            let before = record.previous.map(matches) ?? false
            switch (before, now) {
            case (true, true): return Self.event("MODIFIED", record.object.bytes)
            case (false, true): return Self.event("ADDED", record.object.bytes)
            case (true, false):
                // The cacher sends the old object, stamped with the change's resourceVersion.
                guard let previous = record.previous else { return nil }
                var last = previous.json
                last[path: ["metadata", "resourceVersion"]] = .string(String(record.resourceVersion))
                return Self.event("DELETED", last.serialized())
            case (false, false): return nil
            }
        }
    }

    func bookmark(_ resourceVersion: Int, initialEventsEnd: Bool = false) -> [UInt8] {
        var metadata: [(String, JSONValue)] = [("resourceVersion", .string(String(resourceVersion))), ("creationTimestamp", .null)]
        if initialEventsEnd { metadata.append(("annotations", .object([("k8s.io/initial-events-end", .string("true"))]))) }
        let object: JSONValue = .object([("kind", .string(type.kind)), ("apiVersion", .string(type.apiVersion)), ("metadata", .object(metadata))])
        return Self.event("BOOKMARK", object.serialized())
    }

    static func expired(requested: Int, oldest: Int) -> [UInt8] {
        let status: JSONValue = .object([
            ("kind", .string("Status")), ("apiVersion", .string("v1")), ("metadata", .object([])), ("status", .string("Failure")),
            ("message", .string("too old resource version: \(requested) (\(oldest))")), ("reason", .string("Expired")), ("code", .int(410)),
        ])
        return event("ERROR", status.serialized())
    }

    static func event(_ type: String, _ object: [UInt8]) -> [UInt8] {
        var out = Array(#"{"type":"\#(type)","object":"#.utf8)
        out.reserveCapacity(out.count + object.count + 2)
        out.append(contentsOf: object)
        out.append(contentsOf: "}\n".utf8)
        return out
    }
}

extension Verbs {
    /// `labelSelector` and `fieldSelector` of a list or watch, or the apiserver's 400.
    static func selectors(_ api: APIRequest, query: [String: String]) -> Result<(LabelSelectorQuery, FieldSelectorQuery), HTTPResponseBox> {
        do {
            let labels = try LabelSelectorQuery(parsing: query["labelSelector"] ?? "")
            let fields = try FieldSelectorQuery(parsing: query["fieldSelector"] ?? "", supportedFields: api.type.selectableFields)
            return .success((labels, fields))
        } catch {
            return .failure(HTTPResponseBox(StatusBody.badRequest(error.description)))
        }
    }
}

/// `HTTPResponse` as an `Error`, for `Result`.
struct HTTPResponseBox: Error {
    let response: HTTPResponse
    init(_ response: HTTPResponse) { self.response = response }
}

/// A watch cut short by `KubeTestServer.dropWatches()`: the connection closes without the final chunk.
struct WatchDropped: Error {}

extension Verbs {
    func watch(_ api: APIRequest, query: [String: String]) -> HTTPResponse {
        let request: WatchRequest
        switch WatchRequest.parse(api, query: query) {
        case .success(let parsed): request = parsed
        case .failure(let box): return box.response
        }
        let store = self.store
        return .streaming(200, headers: ["Content-Type": "application/json", "Cache-Control": "no-cache, private"]) { writer in
            try await Self.stream(request, store: store, to: writer)
        }
    }

    private static func stream(_ request: WatchRequest, store: ObjectStore, to writer: HTTPBodyWriter) async throws {
        let history = store.history
        let generation = history.dropGeneration
        let ends = ContinuousClock.now + request.timeout
        var position: Int
        switch request.start {
        case .currentState:
            let (objects, resourceVersion) = store.snapshot(request.type, namespace: request.namespace)
            for object in objects where request.matches(object) {
                try await writer.write(WatchRequest.event("ADDED", object.bytes))
            }
            position = resourceVersion
            if request.initialEventsEndBookmark { try await writer.write(request.bookmark(position, initialEventsEnd: true)) }
        case .after(let resourceVersion):
            position = resourceVersion
        }
        var nextBookmark = ContinuousClock.now + history.bookmarkInterval
        while !history.isClosed, ContinuousClock.now < ends {
            try Task.checkCancellation()
            guard history.dropGeneration == generation else { throw WatchDropped() }
            let records: [WatchRecord], upTo: Int
            do {
                (records, upTo) = try history.changes(after: position)
            } catch .tooOld(let oldest) {
                try await writer.write(WatchRequest.expired(requested: position, oldest: oldest))
                return
            }
            for record in records {
                if let event = request.event(for: record) { try await writer.write(event) }
                position = record.resourceVersion
            }
            if request.bookmarks, ContinuousClock.now >= nextBookmark {
                position = upTo
                try await writer.write(request.bookmark(position))
                nextBookmark = ContinuousClock.now + history.bookmarkInterval
            }
            await history.waitForChange(after: position, generation: generation, until: min(ends, request.bookmarks ? nextBookmark : ends))
        }
    }
}
