import Foundation
import KateNet
import KubeTestServer
import Logging

/// Sends a Pod CREATE to the mutating webhook the way kube-apiserver does: an AdmissionReview v1
/// with a fresh uid, `?timeout=10s`, TLS verified against the configured CA bundle only; checks the
/// answer as the apiserver does (apiVersion/kind, uid echo, patchType) and applies its JSON Patch.
final class AdmissionCaller: Sendable {
    struct Outcome {
        var pod: JSONValue
        var allowed: Bool
        var message: String?
        var warnings: [String]
    }

    let url: String
    private let client: HTTPClient
    private let logger: Logger

    init(url: String, caFile: String, logger: Logger) {
        self.url = url
        self.logger = logger
        let tls = TLSClientConfiguration(useSystemTrustStore: false, additionalTrustRoots: [.file(caFile)])
        client = HTTPClient(configuration: .init(tls: tls, connectTimeout: .seconds(2)), logger: logger)
    }

    func shutdown() async { await client.shutdown() }

    /// The pod as stored after admission, or the webhook's refusal. A webhook that cannot be
    /// reached admits the pod unchanged (failurePolicy: Ignore, as kate's chart installs it).
    func admit(pod: JSONValue, namespace: String, user: String) async -> Outcome {
        let uid = UUID().uuidString.lowercased()
        let gvk: JSONValue = .object([("group", .string("")), ("version", .string("v1")), ("kind", .string("Pod"))])
        let gvr: JSONValue = .object([("group", .string("")), ("version", .string("v1")), ("resource", .string("pods"))])
        let review: JSONValue = .object([
            ("kind", .string("AdmissionReview")), ("apiVersion", .string("admission.k8s.io/v1")),
            ("request", .object([
                ("uid", .string(uid)), ("kind", gvk), ("resource", gvr), ("requestKind", gvk), ("requestResource", gvr),
                ("name", .string(pod[path: ["metadata", "name"]]?.stringValue ?? "")), ("namespace", .string(namespace)), ("operation", .string("CREATE")),
                ("userInfo", .object([
                    ("username", .string(user)), ("uid", .string("7f3c1b7e-0d0e-4c1e-9a51-5c8b1f0e2a11")),
                    ("groups", .array([.string("system:serviceaccounts"), .string("system:serviceaccounts:kube-system"), .string("system:authenticated")])),
                ])),
                ("object", pod), ("oldObject", .null), ("dryRun", .bool(false)),
                ("options", .object([("kind", .string("CreateOptions")), ("apiVersion", .string("meta.k8s.io/v1"))])),
            ])),
        ])
        let request = HTTPClientRequest(
            method: "POST", url: url + (url.contains("?") ? "&" : "?") + "timeout=10s",
            headers: ["Content-Type": "application/json", "Accept": "application/json, */*"], body: review.serialized()
        )
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, deadline: .now + .seconds(10))
        } catch {
            logger.warning("failed calling webhook, failing open (failurePolicy: Ignore)", metadata: ["webhook": "\(url)", "error": "\(error)"])
            return Outcome(pod: pod, allowed: true, message: nil, warnings: [])
        }
        do {
            return try outcome(of: response, uid: uid, pod: pod)
        } catch {
            logger.warning("webhook answer rejected, failing open (failurePolicy: Ignore)", metadata: ["webhook": "\(url)", "error": "\(error)"])
            return Outcome(pod: pod, allowed: true, message: nil, warnings: [])
        }
    }

    private func outcome(of response: HTTPClientResponse, uid: String, pod: JSONValue) throws -> Outcome {
        guard response.status == 200 else { throw SetupError(message: "HTTP \(response.status)") }
        let answer = try JSONValue.parse(response.body)
        guard answer["apiVersion"]?.stringValue == "admission.k8s.io/v1", answer["kind"]?.stringValue == "AdmissionReview" else {
            throw SetupError(message: "expected response apiVersion admission.k8s.io/v1 kind AdmissionReview")
        }
        guard let reply = answer["response"], reply["uid"]?.stringValue == uid else {
            throw SetupError(message: "expected response.uid=\(uid)")
        }
        let warnings = (reply["warnings"]?.arrayValue ?? []).compactMap(\.stringValue)
        guard reply["allowed"]?.boolValue == true else {
            return Outcome(pod: pod, allowed: false, message: reply[path: ["status", "message"]]?.stringValue, warnings: warnings)
        }
        guard let patchText = reply["patch"]?.stringValue else { return Outcome(pod: pod, allowed: true, message: nil, warnings: warnings) }
        guard reply["patchType"]?.stringValue == "JSONPatch", let bytes = Base64.decode(patchText) else {
            throw SetupError(message: "expected patchType JSONPatch with a base64 patch")
        }
        let patched = try KubeTestServer.applyJSONPatch(try JSONValue.parse(bytes), to: pod)
        return Outcome(pod: patched, allowed: true, message: nil, warnings: warnings)
    }
}
