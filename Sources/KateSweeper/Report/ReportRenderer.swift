import Foundation

/// Renders a report as an aligned text table or as JSON.
public enum ReportRenderer {
    static let headers = ["NAMESPACE", "POD", "CONTAINER", "TAG", "PINNED", "RUNNING", "REGISTRY", "VERDICT", "ACTION"]

    /// The table, a blank line, warnings, and the one-line summary.
    public static func table(_ report: SweepReport) -> String {
        let rows = ReportRow.rows(of: report).map { row in
            [
                row.namespace, row.pod, row.container, row.tag, ImageDigest.short(row.pinned), ImageDigest.short(row.running),
                row.registry.map { ImageDigest.short($0) } ?? "error", row.verdict.rawValue, row.action,
            ]
        }
        var widths = headers.map(\.count)
        for row in rows {
            for (column, cell) in row.enumerated() { widths[column] = max(widths[column], cell.count) }
        }
        var out = ""
        for line in [headers] + rows {
            let cells = line.enumerated().map { column, cell in
                column == line.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }
            out += cells.joined(separator: "  ") + "\n"
        }
        let reasons = ReportRow.rows(of: report).filter { $0.verdict != .current && $0.reason != nil }
        if !reasons.isEmpty {
            out += "\n"
            for row in reasons { out += "\(row.namespace)/\(row.pod) \(row.container): \(row.verdict.rawValue): \(row.reason ?? "")\n" }
        }
        for warning in report.warnings { out += "warning: \(warning)\n" }
        out += "\n" + report.summary + "\n"
        return out
    }

    public struct JSONDocument: Codable, Sendable {
        public var summary: String
        public var exitCode: Int32
        public var dryRun: Bool
        public var action: SweepAction
        public var rows: [ReportRow]
        public var warnings: [String]
    }

    public static func json(_ report: SweepReport) throws -> String {
        let document = JSONDocument(
            summary: report.summary, exitCode: report.exitCode, dryRun: report.policy.dryRun, action: report.policy.action,
            rows: ReportRow.rows(of: report), warnings: report.warnings)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(document), as: UTF8.self) + "\n"
    }
}
