import Foundation
import KateNet
import Logging

/// `POST /mutate`: decodes the AdmissionReview, pins the pod's images and answers in the
/// version it was asked in. Every review counts in the metrics; its log line is at `debug`, or
/// `warning` when an image could not be pinned; at `info` a summary line per interval
/// (`AdmissionSummary`) says what the webhook has been doing.
public struct MutatingWebhook: HTTPResponder {
    public let pinner: PodPinner
    private let metrics: AdmissionMetrics
    private let logger: Logger
    private let summary: AdmissionSummary
    /// Operator scope and the mutation-loop breaker; nil: every pod the policy allows is pinned.
    private let guards: PinningGuards?

    public init(
        pinner: PodPinner, metrics: AdmissionMetrics = AdmissionMetrics(), logger: Logger,
        summary: AdmissionSummary = AdmissionSummary(), guards: PinningGuards? = nil
    ) {
        self.pinner = pinner
        self.guards = guards
        self.metrics = metrics
        self.logger = logger
        self.summary = summary
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
        let report: PinReport
        switch await guards?.screen(review.request, deadline: deadline, logger: logger) ?? .pin(nil) {
        case .pin(let ticket):
            report = await pinner.pin(review.request, deadline: deadline, logger: logger)
            guards?.settle(ticket, report)
        case .skip(let reason, let note, let tripped):
            metrics.recordGuardSkip(reason, tripped: tripped)
            report = PinReport(
                response: .allow(review.request.uid), outcome: .skipped, images: [], pinnedImages: 0, failures: [], note: note)
        }
        let finished = ContinuousClock.now
        let elapsed = finished - started
        metrics.record(report, elapsed: elapsed)
        log(review.request, report, elapsed: elapsed)
        // Only when the line would be written: with logging off, not even the lock is taken.
        if logger.logLevel <= .info, let counts = summary.record(report.outcome, imagesPinned: report.pinnedImages, now: finished) {
            var metadata = counts.metadata
            metadata["interval"] = "\(GoDuration.humanize(summary.interval))"
            logger.info("admission summary", metadata: metadata)
        }
        return .json(200, report.response.encode(version: review.version))
    }

    private func log(_ request: AdmissionRequest, _ report: PinReport, elapsed: Duration) {
        // A review that went well is not news at `info`: the summary and the metrics count it.
        // Built only when it will be written: at 10,000 reviews/s the metadata alone is measurable.
        // A failure is a warning, except when every one is an outage the resolver already reported (one line when
        // the circuit opened): during an outage that would be a line per review, thousands a second.
        let news = report.failures.contains { !$0.outageAlreadyReported }
        let level: Logger.Level = news ? .warning : .debug
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
            metadata["errors"] = .array(report.failures.map { .string("\($0.image): [\($0.kind)] \($0.detail)") })
        }
        logger.log(level: level, "admission review", metadata: metadata)
    }
}
