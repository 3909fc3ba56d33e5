import Foundation

/// Where notifications go (`--notify-url`) and in which shape.
public struct NotifyTarget: Sendable, Equatable {
    public enum Format: String, Sendable, CaseIterable {
        /// `SweepNotification` as JSON.
        case json
        /// A Slack incoming-webhook body: `text` plus `blocks`.
        case slack
    }

    public let url: String
    public let format: Format

    /// - Parameter format: `--notify-format` (`auto`, `json`, `slack`): `auto` picks Slack for hooks.slack.com.
    public init(url: String, format: String = "auto") throws {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), ["http", "https"].contains(scheme), let host = parsed.host, !host.isEmpty
        else { throw NotifyConfigurationError(problem: "--notify-url must be an http:// or https:// URL (got \(Self.redacted(url)))") }
        switch format {
        case "auto": self.format = host.lowercased() == "hooks.slack.com" ? .slack : .json
        case "json": self.format = .json
        case "slack": self.format = .slack
        default: throw NotifyConfigurationError(problem: "--notify-format must be auto, json or slack (got \(format))")
        }
        self.url = url
    }

    /// Webhook URLs carry their token in the path (Slack) or query: logs and warnings show only scheme and host.
    public var redacted: String { Self.redacted(url) }

    static func redacted(_ url: String) -> String {
        guard let parsed = URL(string: url), let scheme = parsed.scheme, let host = parsed.host else { return "<unparseable URL>" }
        return "\(scheme)://\(host)\(parsed.port.map { ":\($0)" } ?? "")/…"
    }
}

public struct NotifyConfigurationError: Error, Sendable, CustomStringConvertible {
    public let problem: String
    public var description: String { problem }
}

/// The request bodies.
enum NotifyBody {
    static func encode(_ notification: SweepNotification, as format: NotifyTarget.Format) -> [UInt8] {
        switch format {
        case .json: return json(notification)
        case .slack: return slack(text: notification.headline, fields: fields(notification))
        }
    }

    /// The one POST that stands for the notifications over the per-sweep cap.
    static func summary(_ dropped: [SweepNotification], sweepTime: String, as format: NotifyTarget.Format) -> [UInt8] {
        var counts: [String: Int] = [:]
        for notification in dropped { counts["\(notification.action) \(notification.outcome)", default: 0] += 1 }
        let tally = counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        let text = "kate sweep: \(dropped.count) more notifications not sent one by one (cap per sweep): \(tally); see the sweep's report"
        switch format {
        case .json:
            let object: [String: Any] = ["event": "summary", "sweepTime": sweepTime, "count": dropped.count, "counts": counts, "reason": text]
            return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])).map { Array($0) } ?? []
        case .slack:
            return slack(text: text, fields: [])
        }
    }

    private static func json(_ notification: SweepNotification) -> [UInt8] {
        (try? JSONSerialization.data(withJSONObject: notification.jsonObject, options: [.sortedKeys, .withoutEscapingSlashes])).map { Array($0) } ?? []
    }

    private static func fields(_ notification: SweepNotification) -> [String] {
        var fields = [
            "*Namespace*\n\(notification.namespace)", "*Owner*\n\(notification.owner)", "*Verdict*\n\(notification.verdict)",
            "*Action*\n\(notification.action) → \(notification.outcome)",
        ]
        for image in notification.images.prefix(4) {
            fields.append("*\(image.container)* `\(image.tag ?? "?")`\n`\(image.oldDigest.map(ImageDigest.short) ?? "?")` → `\(image.newDigest.map(ImageDigest.short) ?? "?")`")
        }
        return fields
    }

    /// Slack Block Kit: a section with the headline, one with fields (Slack allows at most 10), a context line.
    private static func slack(text: String, fields: [String]) -> [UInt8] {
        var blocks: [[String: Any]] = [["type": "section", "text": ["type": "mrkdwn", "text": String(text.prefix(3000))]]]
        if !fields.isEmpty {
            blocks.append(["type": "section", "fields": fields.prefix(10).map { ["type": "mrkdwn", "text": String($0.prefix(2000))] }])
        }
        blocks.append(["type": "context", "elements": [["type": "mrkdwn", "text": "sent by kate sweep"]]])
        let object: [String: Any] = ["text": text, "blocks": blocks]
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])).map { Array($0) } ?? []
    }
}
