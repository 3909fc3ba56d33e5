/// An API object with `metadata`: what a watch needs to follow an object's `resourceVersion`.
public protocol KubeObject: Decodable, Sendable {
    var metadata: ObjectMeta { get }
}

extension Pod: KubeObject {}
extension Namespace: KubeObject {}
extension ServiceAccount: KubeObject {}
extension Secret: KubeObject {}
extension ReplicaSet: KubeObject {}
extension Deployment: KubeObject {}
extension StatefulSet: KubeObject {}
extension DaemonSet: KubeObject {}
extension Job: KubeObject {}
