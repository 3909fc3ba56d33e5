import KateKube
import KateNet
import KateRegistry
import Logging

/// `POST /validate`: an enforcement backstop that denies pods running an image not pinned by
/// digest (for instance when the mutating webhook failed open). Images matching the policy's
/// exclusions, skipped namespaces and opted-out pods are exempt.
public struct ValidatingWebhook: HTTPResponder {
    private let policy: AdmissionPolicy
    private let metrics: AdmissionMetrics
    private let logger: Logger

    public init(policy: AdmissionPolicy, metrics: AdmissionMetrics = AdmissionMetrics(), logger: Logger) {
        self.policy = policy
        self.metrics = metrics
        self.logger = logger
    }

    public func respond(to request: HTTPRequest, context: RequestContext) async -> HTTPResponse {
        let review: DecodedAdmissionReview
        do {
            review = try AdmissionReviewDecoder.decode(request.body)
        } catch {
            metrics.recordInvalid()
            return .text(400, error.description)
        }
        let response = validate(review.request)
        metrics.recordValidation(allowed: response.allowed)
        if !response.allowed {
            logger.info("denied unpinned pod", metadata: [
                "uid": "\(review.request.uid)", "namespace": "\(review.request.namespace ?? "")",
                "pod": "\(review.request.podDisplayName)", "reason": "\(response.denial?.message ?? "")",
            ])
        }
        return .json(200, response.encode(version: review.version))
    }

    /// The containers a request introduces: all on CREATE; on UPDATE those whose image changed
    /// or which are new (an image edit on a bare pod, a new ephemeral container).
    static func introducedSlots(_ request: AdmissionRequest) -> [ContainerSlot] {
        guard let pod = request.object else { return [] }
        let all = PinTargets.allSlots(pod.spec)
        guard request.operation == "UPDATE" else { return request.operation == "CREATE" ? all : [] }
        let before = Dictionary(
            (request.oldObject.map { PinTargets.allSlots($0.spec) } ?? []).map { ($0.key, $0.image) }, uniquingKeysWith: { a, _ in a })
        return all.filter { before[$0.key] != $0.image }
    }

    public func validate(_ request: AdmissionRequest) -> AdmissionResponse {
        guard request.isPod, let pod = request.object else { return .allow(request.uid) }
        let namespace = request.namespace ?? pod.metadata.namespace ?? ""
        if policy.podSkipReason(namespace: namespace, pod: pod) != nil { return .allow(request.uid) }
        // Left unpinned by the mutating webhook's operator scope (PinningGuards): not the user's fault.
        if policy.unpinnedOperator(of: pod) != nil { return .allow(request.uid) }
        var offenders: [String] = []
        for slot in Self.introducedSlots(request) {
            let reference: ImageReference
            do {
                reference = try ImageReference.parse(slot.image)
            } catch {
                offenders.append("\(slot.list.noun) \(slot.name) (\(slot.image): not a valid image reference: \(ReferenceProblem(error).reason))")
                continue
            }
            if reference.isPinned || policy.imageSkipReason(reference) != nil { continue }
            offenders.append("\(slot.list.noun) \(slot.name) (\(slot.image))")
        }
        guard !offenders.isEmpty else { return .allow(request.uid) }
        let message = "images must be pinned by digest (name:tag@sha256:…): " + offenders.joined(separator: ", ")
            + ". kate's mutating webhook pins them on create; if it failed open, retry, or exempt the image with --exclude-image."
        return .deny(request.uid, code: 403, reason: "Forbidden", message: message)
    }
}
