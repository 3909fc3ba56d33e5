import Foundation
import KateKube
import Testing
@testable import KateSweeper

/// The report is streamed: in chunks, JSON rows in batches, and the result is the same document.
@Suite("report rendering, streamed")
struct ReportRendererTests {
    static let image = TrackedImage(display: "registry.local/web:1", canonicalName: "registry.local/web", tag: "1")

    /// `count` findings, every third stale, names with characters JSON must escape in some reasons.
    static func report(rows count: Int) -> SweepReport {
        let findings = (0..<count).map { index in
            let pod = PodIdentity(namespace: "ns-\(index / 100)", name: String(format: "pod-%05d", index), uid: "uid-\(index)")
            let target = ContainerTarget(
                pod: pod, container: "app", tracking: .tag(image), pinnedDigest: nil,
                running: .digest(repository: "registry.local/web", digest: Fixtures.digest("a")))
            let stale = index % 3 == 0
            return Finding(target: target, judgement: Judgement(
                verdict: stale ? .tagMoved : .current, reason: stale ? "moved \"quoted\"\n\\ \(index)" : nil, currentDigest: Fixtures.digest("b")))
        }
        return SweepReport(
            findings: findings, results: [], held: [:], skipped: [], podCount: count, resolvedTags: 1, resolveErrors: 0,
            warnings: ["a \"warning\""], policy: ActionPolicy(action: .report), duration: .milliseconds(5))
    }

    @Test(arguments: [0, 1, 255, 256, 257, 1_000])
    func jsonOfEveryRowCountDecodesToTheSameRows(_ count: Int) throws {
        let report = Self.report(rows: count)
        let document = try JSONDecoder().decode(ReportRenderer.JSONDocument.self, from: Data(try ReportRenderer.json(report).utf8))
        #expect(document.rows == ReportRow.rows(of: report))
        #expect(document.warnings == ["a \"warning\""] && document.summary == report.summary && document.exitCode == report.exitCode)
        #expect(document.action == .report && document.dryRun == false)
    }

    @Test func largeReportsGoOutInChunksNotOneString() throws {
        let report = Self.report(rows: 3_000)
        for format in [ReportRenderer.Format.table, .json] {
            var chunks: [Int] = []
            var bytes: [UInt8] = []
            try ReportRenderer.write(report, as: format) { chunk in
                chunks.append(chunk.count)
                bytes.append(contentsOf: chunk)
            }
            #expect(chunks.count > 2, "\(format): \(chunks.count) chunks")
            // A chunk is flushed once it passes 64 KiB; a line or batch may overshoot a little, never a whole report.
            #expect(chunks.allSatisfy { $0 < ReportRenderer.chunkBytes + 64 << 10 }, "\(format): \(chunks.max() ?? 0)")
            let whole = format == .table ? ReportRenderer.table(report) : try ReportRenderer.json(report)
            #expect(String(decoding: bytes, as: UTF8.self) == whole)
        }
    }

    @Test func tableColumnsAlignOverEveryRow() {
        let table = ReportRenderer.table(Self.report(rows: 12))
        let lines = table.split(separator: "\n").prefix(13)
        let verdictColumn = lines.map { $0.range(of: $0 == lines.first ? "VERDICT" : ($0.contains("tag-moved") ? "tag-moved" : "current"))?.lowerBound.utf16Offset(in: $0) }
        #expect(Set(verdictColumn).count == 1, "\(verdictColumn)")
        #expect(table.contains("ns-0/pod-00000 app: tag-moved: moved \"quoted\""))
    }
}
