import Foundation
import KateNet
import Logging
import Metrics

/// `POST /registry-events`: authenticates the sender, reads the payload in whichever format it
/// has, and refreshes every pushed tag once (replays are answered 200 and counted, not re-run).
/// 401 for missing or wrong credentials, 400 with the reason for a body kate cannot read, 502
/// when a tag could not be resolved (so the registry retries; the retry is not a replay). The
/// body limit (413) is the listener's. Counter `kate_registry_events_total{format,result}`.
public struct RegistryEventsReceiver: HTTPResponder {
    public static let path = "/registry-events"

    private let authentication: EventAuthentication
    private let refresher: any PushedTagRefreshing
    private let replays: ReplayGuard
    private let logger: Logger
    private let metricsFactory: any MetricsFactory
    /// Called after a push was refreshed (the leader's targeted sweep hooks in here).
    private let afterRefresh: (@Sendable (RegistryPush, String) async -> Void)?

    public init(
        authentication: EventAuthentication, refresher: any PushedTagRefreshing, replays: ReplayGuard = ReplayGuard(), logger: Logger,
        metricsFactory: any MetricsFactory = MetricsSystem.factory, afterRefresh: (@Sendable (RegistryPush, String) async -> Void)? = nil
    ) {
        self.authentication = authentication
        self.refresher = refresher
        self.replays = replays
        self.logger = logger
        self.metricsFactory = metricsFactory
        self.afterRefresh = afterRefresh
    }

    public func respond(to request: HTTPRequest, context: RequestContext) async -> HTTPResponse {
        if case .rejected(let reason) = authentication.verify(request) {
            count("unknown", "unauthorized")
            logger.warning("registry event from \(context.remoteAddress) refused: \(reason)")
            var response = HTTPResponse.text(401, reason)
            response.headers.add(name: "WWW-Authenticate", value: "Bearer realm=\"kate registry events\"")
            return response
        }
        let events: RegistryEvents
        do {
            events = try RegistryEventFormats.parse(request)
        } catch {
            count("unknown", "invalid")
            return .text(400, error.description)
        }
        var refreshed: [[String: String]] = []
        var replayed: [String] = []
        var failed: [[String: String]] = []
        for push in events.pushes {
            try? Task.checkCancellation()
            guard replays.firstSighting(of: push) else {
                replayed.append(push.reference.description)
                count(events.format, "replayed")
                continue
            }
            do {
                let digest = try await refresher.refresh(push, deadline: context.deadline)
                refreshed.append(["reference": push.reference.description, "digest": digest])
                count(events.format, "refreshed")
                logger.info("push of \(push.reference) (\(events.format)): now \(digest)")
                await afterRefresh?(push, digest)
            } catch {
                replays.forget(push)
                failed.append(["reference": push.reference.description, "error": "\(error)"])
                count(events.format, "failed")
                logger.warning("push of \(push.reference) (\(events.format)) could not be re-resolved: \(error)")
            }
        }
        for _ in events.ignored { count(events.format, "ignored") }
        let summary: [String: Any] = ["format": events.format, "refreshed": refreshed, "replayed": replayed, "ignored": events.ignored, "failed": failed]
        let body = (try? JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])).map(Array.init) ?? []
        return .json(failed.isEmpty ? 200 : 502, body)
    }

    private func count(_ format: String, _ result: String) {
        Counter(label: "kate_registry_events_total", dimensions: [("format", format), ("result", result)], factory: metricsFactory).increment()
    }
}
