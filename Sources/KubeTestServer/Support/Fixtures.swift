import Foundation
import KateKube

/// Real-shaped objects as `kubectl get -o json` prints them (managedFields, controller owner
/// references, container statuses from containerd, CRI-O and Docker nodes, a native sidecar,
/// an ephemeral debug container), kept in `Sources/KubeTestServer/Fixtures`.
///
/// The set forms one cluster: namespace `shop` with Deployment `web` → ReplicaSet
/// `web-7d9c6b8f5` → three Pods (one per runtime), StatefulSet `db` → `db-0`, CronJob `report` →
/// Job `report-29401500` → a Pod pulling with Secret `regcred`, bare Pod `toolbox` (imageID is a
/// bare config digest), ServiceAccount `web` with imagePullSecrets; DaemonSet `monitoring/agent`
/// on a Docker node; the static Pod `kube-system/etcd-control-plane` (mirror annotation).
public enum Fixture: String, CaseIterable, Sendable {
    case namespaceShop = "namespace-shop"
    case deploymentWeb = "deployment-web"
    case replicaSetWeb = "replicaset-web"
    case podWebContainerd = "pod-web-containerd"
    case podWebCRIO = "pod-web-crio"
    case podWebDocker = "pod-web-docker"
    case statefulSetDB = "statefulset-db"
    case podDB0 = "pod-db-0"
    case daemonSetAgent = "daemonset-agent"
    case podAgent = "pod-agent"
    case jobReport = "job-report"
    case podReport = "pod-report"
    case podBare = "pod-bare"
    case podStaticEtcd = "pod-static-etcd"
    case serviceAccountWeb = "serviceaccount-web"
    case secretRegcred = "secret-regcred"

    public struct MissingError: Error, CustomStringConvertible {
        public let name: String
        public var description: String { "fixture \(name).json is not in the KubeTestServer bundle" }
    }

    /// The file's bytes, exactly as stored.
    public func bytes() throws -> [UInt8] {
        guard let url = Bundle.module.url(forResource: rawValue, withExtension: "json", subdirectory: "Fixtures")
            ?? Bundle.module.url(forResource: rawValue, withExtension: "json")
        else { throw MissingError(name: rawValue) }
        return Array(try Data(contentsOf: url))
    }

    public func json() throws -> JSONValue { try JSONValue.parse(try bytes()) }

    /// The fixture decoded as a KateKube model (`Pod`, `Deployment`, …).
    public func decode<T: Decodable>(as type: T.Type = T.self) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(try bytes()))
    }
}

extension KubeTestServer {
    public struct UnknownKindError: Error, CustomStringConvertible {
        public let apiVersion: String
        public let kind: String
        public var description: String { "KubeTestServer does not serve \(kind) (\(apiVersion))" }
    }

    public struct ObjectNotFoundError: Error, CustomStringConvertible {
        public let type: ResourceType
        public let namespace: String?
        public let name: String
        public var description: String { "no \(type.kind) \(namespace.map { "\($0)/" } ?? "")\(name) in the KubeTestServer" }
    }

    /// Stores an object (create, or replace one with the same name), as given in JSON: the kind is
    /// taken from `apiVersion`/`kind`; uid and other fields are kept, resourceVersion is the server's.
    @discardableResult
    public func put(_ objectJSON: [UInt8]) throws -> JSONValue { try put(try JSONValue.parse(objectJSON)) }

    @discardableResult
    public func put(_ object: JSONValue) throws -> JSONValue {
        let apiVersion = object["apiVersion"]?.stringValue ?? "", kind = object["kind"]?.stringValue ?? ""
        guard let type = ResourceType.forObject(apiVersion: apiVersion, kind: kind) else { throw UnknownKindError(apiVersion: apiVersion, kind: kind) }
        return try store.create(object, type: type, namespace: nil, replace: true)
    }

    /// Stores one fixture.
    @discardableResult
    public func load(_ fixture: Fixture) throws -> JSONValue { try put(try fixture.json()) }

    /// Stores every fixture: the whole small cluster described on `Fixture`.
    public func loadAllFixtures() throws {
        for fixture in Fixture.allCases { try load(fixture) }
    }

    /// The stored object as JSON, nil if absent.
    public func object(_ type: ResourceType, namespace: String?, name: String) -> JSONValue? {
        store.get(type, namespace: namespace, name: name)?.json
    }

    /// The stored object decoded as a KateKube model, nil if absent or not decodable.
    public func object<T: Decodable>(_ type: ResourceType, namespace: String?, name: String, as model: T.Type) -> T? {
        guard let stored = store.get(type, namespace: namespace, name: name) else { return nil }
        return try? JSONDecoder().decode(T.self, from: Data(stored.bytes))
    }

    public func count(_ type: ResourceType) -> Int { store.count(type) }

    /// Every stored object of a kind (in a namespace, or everywhere), in storage order.
    public func objects(_ type: ResourceType, namespace: String? = nil) -> [JSONValue] {
        var result: [JSONValue] = []
        var token: String?
        repeat {
            guard let page = try? store.list(type, namespace: namespace, limit: 500, continueToken: token, matching: { _ in true }) else { break }
            result += page.items.compactMap { item in
                (try? JSONValue.parse(item)).map { .object([("apiVersion", .string(type.apiVersion)), ("kind", .string(type.kind))] + ($0.objectValue ?? [])) }
            }
            token = page.continueToken
        } while token != nil
        return result
    }

    /// Stores an Event given in either version (core v1 or events.k8s.io/v1) in both, as a
    /// controller's event recorder would leave it.
    @discardableResult
    public func addEvent(_ event: JSONValue) throws -> JSONValue {
        let stored = try put(event)
        let isCore = event["apiVersion"]?.stringValue == "v1"
        let twin = isCore ? EventConversion.toEvents(stored) : EventConversion.toCore(stored)
        try store.create(twin, type: isCore ? .events : .coreEvents, namespace: nil, replace: true)
        return stored
    }

    /// Deletes a stored object, as a controller or the kubelet finishing a pod would; false if absent.
    @discardableResult
    public func remove(_ type: ResourceType, namespace: String?, name: String) -> Bool {
        (try? store.delete(type, namespace: namespace, name: name)) != nil
    }

    /// Changes a stored object in place (e.g. to model a controller updating status); bumps
    /// resourceVersion, and generation when `spec` changed.
    @discardableResult
    public func modify(_ type: ResourceType, namespace: String?, name: String, _ change: @Sendable (inout JSONValue) -> Void) throws -> JSONValue {
        do {
            return try store.update(type, namespace: namespace, name: name) { object in change(&object) }
        } catch {
            throw ObjectNotFoundError(type: type, namespace: namespace, name: name)
        }
    }
}
