import Foundation
import KateNet
import Logging

/// `POST /mutate`: decodes the AdmissionReview, pins the pod's images and answers in the
/// version it was asked in. Every review gets one log line and a result metric.
public struct MutatingWebhook: HTTPResponder {
    public let pinner: PodPinner
    private let metrics: AdmissionMetrics
    private let logger: Logger

    public init(pinner: PodPinner, metrics: AdmissionMetrics = AdmissionMetrics(), logger: Logger) {
        self.pinner = pinner
        self.metrics = metrics
        self.logger = logger
    }

    public func respond(to request: HTTPRequest, context: RequestContext) async -> HTTPResponse {
        let started = ContinuousClock.now
        let review: DecodedAdmissionReview
        do {
            review = try AdmissionReviewDecoder.decode(request.body)
        } catch {
            metrics.recordInvalid()
            logger.warning("rejected admission request", metadata: ["remote": "\(context.remoteAddress)", "error": "\(error)"])
            return .text(400, error.description)
        }
        let configuration = pinner.configuration
        let deadline = AdmissionDeadline.compute(
            timeoutQuery: request.queryParameter("timeout"), defaultTimeout: configuration.defaultTimeout,
            margin: configuration.timeoutMargin, now: started, serverDeadline: context.deadline)
        let report = await pinner.pin(review.request, deadline: deadline, logger: logger)
        let elapsed = ContinuousClock.now - started
        metrics.record(report, elapsed: elapsed)
        log(review.request, report, elapsed: elapsed)
        return .json(200, report.response.encode(version: review.version))
    }

    private func log(_ request: AdmissionRequest, _ report: PinReport, elapsed: Duration) {
        // Built only when it will be written: at 10,000 reviews/s the metadata alone is measurable.
        let level: Logger.Level = report.failures.isEmpty ? .info : .warning
        guard logger.logLevel <= level else { return }
        var metadata: Logger.Metadata = [
            "uid": "\(request.uid)",
            "namespace": "\(request.namespace ?? "")",
            "pod": "\(request.podDisplayName)",
            "operation": "\(request.operation)\(request.subResource.map { "/" + $0 } ?? "")",
            "outcome": "\(report.outcome.rawValue)",
            "ms": "\(String(format: "%.1f", elapsed.milliseconds))",
        ]
        if !report.images.isEmpty { metadata["images"] = .array(report.images.map { .string($0.description) }) }
        if let note = report.note { metadata["note"] = "\(note)" }
        if request.dryRun { metadata["dryRun"] = "true" }
        if !report.failures.isEmpty {
            metadata["errors"] = .array(report.failures.map { .string("\($0.image): \($0.detail)") })
        }
        logger.log(level: level, "admission review", metadata: metadata)
    }
}
