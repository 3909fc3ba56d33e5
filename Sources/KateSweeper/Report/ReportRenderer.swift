import Foundation

/// Renders a report as an aligned text table or as JSON, streamed: rows go out in chunks as they are
/// rendered, so a 100,000-container report never exists as one string (`write`). `table` and `json`
/// collect the same stream into a String, for tests and small reports.
public enum ReportRenderer {
    static let headers = ["NAMESPACE", "POD", "CONTAINER", "TAG", "PINNED", "RUNNING", "REGISTRY", "VERDICT", "ACTION"]
    /// Bytes buffered before `emit` is called.
    static let chunkBytes = 64 << 10
    /// Rows encoded per JSONEncoder call: its per-call cost amortised, its buffer bounded.
    static let jsonRowsPerBatch = 256

    public enum Format: String, Sendable {
        case table, json
    }

    /// Streams the rendered report to `emit`, chunk by chunk.
    public static func write(_ report: SweepReport, as format: Format, to emit: ([UInt8]) throws -> Void) throws {
        try withoutActuallyEscaping(emit) { emit in
            var out = ChunkedOutput(emit: emit)
            switch format {
            case .table: try table(report, into: &out)
            case .json: try json(report, into: &out)
            }
            try out.flush()
        }
    }

    /// The table, a blank line, warnings, and the one-line summary.
    public static func table(_ report: SweepReport) -> String {
        collect { try write(report, as: .table, to: $0) }
    }

    public static func json(_ report: SweepReport) throws -> String {
        var bytes: [UInt8] = []
        try write(report, as: .json) { bytes.append(contentsOf: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func collect(_ body: (([UInt8]) throws -> Void) throws -> Void) -> String {
        var bytes: [UInt8] = []
        try? body { bytes.append(contentsOf: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func cells(_ row: ReportRow) -> [String] {
        [
            row.namespace, row.pod, row.container, row.tag, ImageDigest.short(row.pinned), ImageDigest.short(row.running),
            row.registry.map { ImageDigest.short($0) } ?? "error", row.verdict.rawValue, row.action,
        ]
    }

    private static func table(_ report: SweepReport, into out: inout ChunkedOutput) throws {
        // Two passes over the findings (widths, then lines) instead of keeping every rendered row.
        var widths = headers.map(\.count)
        for finding in report.findings {
            for (column, cell) in cells(ReportRow(finding, in: report)).enumerated() { widths[column] = max(widths[column], cell.count) }
        }
        func line(_ cells: [String], into out: inout ChunkedOutput) throws {
            for (column, cell) in cells.enumerated() {
                out.appendInLine(cell)
                if column < cells.count - 1 { out.spaces(widths[column] - cell.count + 2) }
            }
            try out.append("\n")
        }
        try line(headers, into: &out)
        for finding in report.findings { try line(cells(ReportRow(finding, in: report)), into: &out) }
        var wroteGap = false
        for finding in report.findings where finding.judgement.verdict != .current {
            let row = ReportRow(finding, in: report)
            guard let reason = row.reason else { continue }
            if !wroteGap { try out.append("\n"); wroteGap = true }
            try out.append("\(row.namespace)/\(row.pod) \(row.container): \(row.verdict.rawValue): \(reason)\n")
        }
        for skipped in report.reportedSkips { try out.append("\(skipped.pod.namespace)/\(skipped.pod.name): skipped: \(skipped.reason)\n") }
        for warning in report.warnings { try out.append("warning: \(warning)\n") }
        try out.append("\n" + report.summary + "\n")
    }

    /// The document `--output json` prints (keys sorted; rows in lines of up to 256).
    public struct JSONDocument: Codable, Sendable {
        public var summary: String
        public var exitCode: Int32
        public var dryRun: Bool
        public var action: SweepAction
        public var rows: [ReportRow]
        /// Pods skipped for a reason worth a row (operator-owned); absent in older documents.
        public var skipped: [ReportedSkip]?
        public var warnings: [String]
    }

    public struct ReportedSkip: Codable, Sendable, Equatable {
        public var namespace: String
        public var pod: String
        public var reason: String
    }

    private static func json(_ report: SweepReport, into out: inout ChunkedOutput) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        func encoded<T: Encodable>(_ value: T) throws -> String { String(decoding: try encoder.encode(value), as: UTF8.self) }
        // Keys in sorted order, as JSONDocument would encode them.
        try out.append("{\n  \"action\": \(try encoded(report.policy.action)),\n  \"dryRun\": \(report.policy.dryRun),\n")
        try out.append("  \"exitCode\": \(report.exitCode),\n  \"rows\": [")
        var first = true
        var start = report.findings.startIndex
        while start < report.findings.endIndex {
            let end = min(start + jsonRowsPerBatch, report.findings.endIndex)
            // One encoder call per batch (its per-call cost dominated per-row calls); the batch's
            // array brackets are dropped so the batches join into one `rows` array.
            let batch = Array(try encoder.encode(report.findings[start..<end].map { ReportRow($0, in: report) }).dropFirst().dropLast())
            try out.append(first ? "\n    " : ",\n    ")
            try out.append(bytes: batch)
            first = false
            start = end
        }
        try out.append(first ? "],\n" : "\n  ],\n")
        let skips = report.reportedSkips.map { ReportedSkip(namespace: $0.pod.namespace, pod: $0.pod.name, reason: $0.reason) }
        try out.append("  \"skipped\": \(try encoded(skips)),\n")
        try out.append("  \"summary\": \(try encoded(report.summary)),\n  \"warnings\": \(try encoded(report.warnings))\n}\n")
    }
}

/// Bytes handed on in chunks of `ReportRenderer.chunkBytes`.
struct ChunkedOutput {
    let emit: ([UInt8]) throws -> Void
    private var buffer: [UInt8] = []

    init(emit: @escaping ([UInt8]) throws -> Void) {
        self.emit = emit
        buffer.reserveCapacity(ReportRenderer.chunkBytes + 4096)
    }

    /// Appends without flushing (within a line).
    mutating func appendInLine(_ text: String) {
        buffer.append(contentsOf: text.utf8)
    }

    mutating func append(bytes: [UInt8]) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= ReportRenderer.chunkBytes { try flush() }
    }

    /// Appends, then flushes if the chunk is full.
    mutating func append(_ text: String) throws {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= ReportRenderer.chunkBytes { try flush() }
    }

    mutating func spaces(_ count: Int) {
        buffer.append(contentsOf: repeatElement(UInt8(ascii: " "), count: max(0, count)))
    }

    mutating func flush() throws {
        guard !buffer.isEmpty else { return }
        try emit(buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}
