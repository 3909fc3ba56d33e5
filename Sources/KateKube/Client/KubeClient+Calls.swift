import Foundation
import KateNet

extension KubeClient {
    /// Pods in `namespace` (all namespaces when nil), fetched `pageSize` at a time with `limit` and
    /// `continue`. A 410 Gone (the continue token expired during a long list) restarts the list from
    /// the beginning, as client-go's pager does, at most `maxListRestarts` times.
    public func listPods(namespace: String?, labelSelector: String? = nil, fieldSelector: String? = nil, pageSize: Int = 500) async throws -> [Pod] {
        try await list(Pod.self, .pods, namespace: namespace, labelSelector: labelSelector, fieldSelector: fieldSelector, pageSize: pageSize)
    }

    /// Namespaces (for the `kate.dev/skip=true` label opt-out).
    public func listNamespaces(labelSelector: String? = nil) async throws -> [Namespace] {
        try await list(Namespace.self, .namespaces, namespace: nil, labelSelector: labelSelector, fieldSelector: nil, pageSize: 500)
    }

    static let maxListRestarts = 3

    func list<Item: Decodable & Sendable>(
        _ type: Item.Type, _ resource: ResourcePath, namespace: String?, labelSelector: String?, fieldSelector: String?, pageSize: Int
    ) async throws -> [Item] {
        var restarts = 0
        while true {
            do {
                return try await listOnce(type, resource, namespace: namespace, labelSelector: labelSelector, fieldSelector: fieldSelector, pageSize: pageSize)
            } catch let error as KubeError where error.isGone && restarts < Self.maxListRestarts {
                restarts += 1
                logger.info("list continue token expired; restarting the list", metadata: ["resource": "\(resource.resource)", "restart": "\(restarts)"])
            }
        }
    }

    /// Fetches page after page while earlier pages decode in child tasks: decoding a 500-pod page
    /// costs about as much as fetching the next one, so the two overlap. Only the small list head
    /// (`metadata.continue`) is decoded before the next request goes out.
    private func listOnce<Item: Decodable & Sendable>(
        _ type: Item.Type, _ resource: ResourcePath, namespace: String?, labelSelector: String?, fieldSelector: String?, pageSize: Int
    ) async throws -> [Item] {
        try await withThrowingTaskGroup(of: (Int, [Item]).self) { group in
            var token: String?
            var pageCount = 0
            repeat {
                var query: [(String, String)] = [("limit", String(max(1, pageSize)))]
                if let token { query.append(("continue", token)) }
                if let labelSelector, !labelSelector.isEmpty { query.append(("labelSelector", labelSelector)) }
                if let fieldSelector, !fieldSelector.isEmpty { query.append(("fieldSelector", fieldSelector)) }
                let call = Call(method: "GET", path: resource.path(namespace: namespace), query: query, verb: "list", resource: resource.resource, namespace: namespace)
                let response = try await perform(call)
                let head = try decode(ListHead.self, response, call)
                let index = pageCount
                pageCount += 1
                group.addTask { (index, try self.decode(ObjectList<Item>.self, response, call).items) }
                token = head.metadata.continue.flatMap { $0.isEmpty ? nil : $0 }
            } while token != nil
            var pages = [[Item]](repeating: [], count: pageCount)
            var total = 0
            for try await (index, items) in group {
                pages[index] = items
                total += items.count
            }
            // Release each page as it is copied: a 10,000-pod list must not exist twice.
            var all: [Item] = []
            all.reserveCapacity(total)
            for index in pages.indices {
                all.append(contentsOf: pages[index])
                pages[index] = []
            }
            return all
        }
    }

    /// Pods page by page, for callers that keep only what they extract from each page (the sweeper
    /// at 100,000 pods): `page` gets each page's pods while the next page is already being fetched,
    /// so at most two pages exist at a time. `restarted` is true for the first page of a list that
    /// restarted after 410 Gone (an expired continue token): drop what earlier pages gave.
    public func forEachPodPage(
        namespace: String?, labelSelector: String? = nil, fieldSelector: String? = nil, pageSize: Int = 500,
        _ page: (_ pods: [Pod], _ restarted: Bool) async throws -> Void
    ) async throws {
        var restarts = 0
        while true {
            do {
                try await forEachPageOnce(
                    Pod.self, .pods, namespace: namespace, labelSelector: labelSelector, fieldSelector: fieldSelector, pageSize: pageSize
                ) { items, first in
                    try await page(items, first && restarts > 0)
                }
                return
            } catch let error as KubeError where error.isGone && restarts < Self.maxListRestarts {
                restarts += 1
                logger.info("list continue token expired; restarting the list", metadata: ["resource": "pods", "restart": "\(restarts)"])
            }
        }
    }

    private func forEachPageOnce<Item: Decodable & Sendable>(
        _ type: Item.Type, _ resource: ResourcePath, namespace: String?, labelSelector: String?, fieldSelector: String?, pageSize: Int,
        _ page: (_ items: [Item], _ first: Bool) async throws -> Void
    ) async throws {
        func call(_ token: String?) -> Call {
            var query: [(String, String)] = [("limit", String(max(1, pageSize)))]
            if let token { query.append(("continue", token)) }
            if let labelSelector, !labelSelector.isEmpty { query.append(("labelSelector", labelSelector)) }
            if let fieldSelector, !fieldSelector.isEmpty { query.append(("fieldSelector", fieldSelector)) }
            return Call(method: "GET", path: resource.path(namespace: namespace), query: query, verb: "list", resource: resource.resource, namespace: namespace)
        }
        func fetch(_ token: String?) async throws -> HTTPClientResponse? {
            guard let token else { return nil }
            return try await perform(call(token))
        }
        var current = call(nil)
        var response = try await perform(current)
        var first = true
        while true {
            let head = try decode(ListHead.self, response, current)
            let token = head.metadata.continue.flatMap { $0.isEmpty ? nil : $0 }
            // The next request is in flight while this page decodes and the caller digests it.
            async let next = fetch(token)
            let items = try decode(ObjectList<Item>.self, response, current).items
            try await page(items, first)
            first = false
            guard let nextResponse = try await next, let token else { return }
            response = nextResponse
            current = call(token)
        }
    }

    /// A list with its items skipped: what the pager needs before the next request.
    private struct ListHead: Decodable {
        var metadata: ListMeta
    }

    public func getPod(namespace: String, name: String) async throws -> Pod { try await get(.pods, namespace: namespace, name: name) }
    public func getReplicaSet(namespace: String, name: String) async throws -> ReplicaSet { try await get(.workload(.replicaSet), namespace: namespace, name: name) }
    public func getDeployment(namespace: String, name: String) async throws -> Deployment { try await get(.workload(.deployment), namespace: namespace, name: name) }
    public func getStatefulSet(namespace: String, name: String) async throws -> StatefulSet { try await get(.workload(.statefulSet), namespace: namespace, name: name) }
    public func getDaemonSet(namespace: String, name: String) async throws -> DaemonSet { try await get(.workload(.daemonSet), namespace: namespace, name: name) }
    public func getJob(namespace: String, name: String) async throws -> Job { try await get(.jobs, namespace: namespace, name: name) }
    public func getServiceAccount(namespace: String, name: String) async throws -> ServiceAccount { try await get(.serviceAccounts, namespace: namespace, name: name) }
    public func getSecret(namespace: String, name: String) async throws -> Secret { try await get(.secrets, namespace: namespace, name: name) }
    public func getNamespace(name: String) async throws -> Namespace { try await get(.namespaces, namespace: nil, name: name) }

    func get<T: Decodable>(_ resource: ResourcePath, namespace: String?, name: String) async throws -> T {
        let call = Call(method: "GET", path: resource.path(namespace: namespace, name: name), verb: "get", resource: resource.resource, namespace: namespace, name: name)
        return try decode(T.self, try await perform(call), call)
    }

    /// What `kubectl rollout restart` does: a strategic-merge patch setting
    /// `spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"]` to `at` in RFC 3339.
    /// The changed template makes the controller roll every Pod (and admission re-pins the images).
    /// kubectl refuses a paused Deployment; callers check `Deployment.isPaused` first.
    public func rolloutRestart(_ kind: WorkloadKind, namespace: String, name: String, at: Date) async throws {
        try await rolloutRestart(kind, namespace: namespace, name: name, at: at, annotating: [:])
    }

    /// PATCH a workload with kate's field manager.
    public func patch(_ kind: WorkloadKind, namespace: String, name: String, body: [UInt8], contentType: PatchType) async throws {
        let resource = ResourcePath.workload(kind)
        let call = Call(
            method: "PATCH", path: resource.path(namespace: namespace, name: name), query: [("fieldManager", fieldManager)], body: body,
            contentType: contentType.rawValue, verb: "patch", resource: resource.resource, namespace: namespace, name: name
        )
        _ = try await perform(call)
    }

    /// Evicts a Pod through the `policy/v1` Eviction subresource, which honours PodDisruptionBudgets:
    /// a budget that forbids it now answers 429 (a `KubeError` with `isTooManyRequests`, not retried here).
    public func evict(namespace: String, name: String) async throws {
        let body = try JSONSerialization.data(withJSONObject: [
            "apiVersion": "policy/v1", "kind": "Eviction", "metadata": ["name": name, "namespace": namespace],
        ] as [String: Any], options: [.sortedKeys])
        let call = Call(
            method: "POST", path: ResourcePath.pods.path(namespace: namespace, name: name, subresource: "eviction"), body: Array(body),
            contentType: "application/json", verb: "create", resource: "pods/eviction", namespace: namespace, name: name
        )
        _ = try await perform(call)
    }

    /// Deletes a Pod only if it is still the one seen (`preconditions.uid`); a replacement with the
    /// same name answers 409 Conflict instead of being deleted.
    public func deletePod(namespace: String, name: String, uid: String) async throws {
        let body = try JSONSerialization.data(withJSONObject: ["preconditions": ["uid": uid]] as [String: Any], options: [.sortedKeys])
        let call = Call(
            method: "DELETE", path: ResourcePath.pods.path(namespace: namespace, name: name), body: Array(body),
            contentType: "application/json", verb: "delete", resource: "pods", namespace: namespace, name: name
        )
        _ = try await perform(call)
    }

    /// Records an `events.k8s.io/v1` Event in the namespace of the object it is about.
    public func createEvent(_ event: KubeEvent) async throws {
        let namespace = event.regarding.namespace ?? configuration.namespace
        let call = Call(
            method: "POST", path: ResourcePath.events.path(namespace: namespace), query: [("fieldManager", fieldManager)],
            body: try event.requestBody(namespace: namespace), contentType: "application/json", verb: "create", resource: "events", namespace: namespace
        )
        _ = try await perform(call)
    }

    func decode<T: Decodable>(_ type: T.Type, _ response: HTTPClientResponse, _ call: Call) throws -> T {
        do {
            // Decode straight from the response buffer: a page is ~1 MiB and copying it into a Data
            // would double what a list holds in flight.
            return try response.body.withUnsafeBytes { raw in
                guard let base = raw.baseAddress, raw.count > 0 else { return try JSONDecoder().decode(T.self, from: Data()) }
                let data = Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: raw.count, deallocator: .none)
                return try JSONDecoder().decode(T.self, from: data)
            }
        } catch {
            throw KubeError(
                code: 0, reason: "InvalidResponse", message: "cannot decode the answer as \(T.self): \(error)", verb: call.verb,
                resource: call.resource, namespace: call.namespace, name: call.name, server: configuration.server
            )
        }
    }
}
