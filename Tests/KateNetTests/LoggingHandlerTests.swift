import Foundation
import Logging
import Synchronization
import Testing

@testable import KateNet

/// Lines a handler wrote, in order.
final class RecordingLogSink: LogSink {
    private let recorded = Mutex<[[UInt8]]>([])

    func write(line: [UInt8]) { recorded.withLock { $0.append(line) } }

    var lines: [String] { recorded.withLock { $0.map { String(decoding: $0, as: UTF8.self) } } }
}

/// A clock that answers the times it is given, in turn, and counts how often it was asked.
final class ScriptedLogClock: LogClock {
    private let state: Mutex<(times: [LogTime], reads: Int)>

    init(_ times: [LogTime]) { state = Mutex((times, 0)) }

    func now() -> LogTime {
        state.withLock { state in
            defer { state.reads += 1 }
            return state.times[state.reads % state.times.count]
        }
    }

    var reads: Int { state.withLock { $0.reads } }
}

private func logger(_ format: LogFormat, clock: any LogClock = SystemLogClock(), sink: RecordingLogSink, level: Logger.Level = .info) -> Logger {
    Logger(label: "kate.test") { label in KateLogHandler(label: label, format: format, level: level, clock: clock, sink: sink) }
}

/// Every byte that needs escaping in JSON, plus quotes, backslashes and multi-byte UTF-8.
private let awkward = "quote \" backslash \\ slash / nul \u{0} bell \u{7} tab \t newline \n cr \r unit \u{1F} del \u{7F} é 名 🙂 \u{2028}"

@Suite("Log handler (JSON and text lines written by hand)")
struct LoggingHandlerTests {
    @Test("JSON lines parse with Foundation and keep every string exactly, control characters included")
    func jsonParsesWithFoundation() throws {
        let sink = RecordingLogSink()
        let log = logger(.json, sink: sink)
        log.warning("message: \(awkward)", metadata: [
            "plain": "value", "awkward": "\(awkward)", "list": ["a", "\(awkward)", ["nested"]], "map": ["z": "1", "a": ["b": "2"]],
            "number": .stringConvertible(42),
        ])
        let line = try #require(sink.lines.first)
        #expect(line.hasSuffix("}\n"))
        #expect(line.dropLast().contains("\n") == false)  // one line, whatever the message holds
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["level"] as? String == "warning")
        #expect(object["logger"] as? String == "kate.test")
        #expect(object["msg"] as? String == "message: \(awkward)")
        #expect(object["awkward"] as? String == awkward)
        #expect(object["plain"] as? String == "value")
        #expect(object["number"] as? String == "42")
        let list = try #require(object["list"] as? [Any])
        #expect(list[1] as? String == awkward)
        #expect((list[2] as? [Any])?.first as? String == "nested")
        #expect(((object["map"] as? [String: Any])?["a"] as? [String: Any])?["b"] as? String == "2")
        // Control characters are escaped (\n, \t, \u0000, …), never written raw.
        #expect(line.utf8.dropLast().allSatisfy { $0 >= 0x20 })
        #expect(line.contains(#"\u0000"#) && line.contains(#"\u001f"#) && line.contains(#"\n"#) && line.contains(#"\t"#))
    }

    @Test("JSON lines parse with Python's json module, to the same strings")
    func jsonParsesWithPython() throws {
        let sink = RecordingLogSink()
        logger(.json, sink: sink).error("\(awkward)", metadata: ["k": "\(awkward)"])
        let line = try #require(sink.lines.first)
        // Prints each value as its code points, so the comparison does not depend on Python's output encoding.
        let python = try ChildProcessRunner.runBlocking(
            executable: "/usr/bin/env",
            arguments: ["python3", "-c", "import json,sys; o=json.loads(sys.stdin.read()); print(' '.join(str(ord(c)) for c in o['msg'])); print(' '.join(str(ord(c)) for c in o['k'])); print(','.join(o.keys()))"],
            input: Array(line.utf8), timeout: .seconds(60))
        let printed = String(decoding: python.stdout, as: UTF8.self).split(separator: "\n")
        #expect(python.status == 0)
        let expected = awkward.unicodeScalars.map { String($0.value) }.joined(separator: " ")
        #expect(printed.count == 3)
        #expect(printed.first.map(String.init) == expected)
        #expect(printed.dropFirst().first.map(String.init) == expected)
        #expect(printed.last == "ts,level,logger,msg,k")
    }

    @Test("key order is fixed: ts, level, logger, msg, error, then metadata sorted, whatever the insertion order")
    func stableKeyOrder() throws {
        let clock = ScriptedLogClock([LogTime(seconds: 1_764_711_745, nanoseconds: 123_456_789)])
        let sink = RecordingLogSink()
        var log = logger(.json, clock: clock, sink: sink)
        log[metadataKey: "zeta"] = "handler"
        log.info("one", metadata: ["b": "2", "a": "1", "c": "3", "msg": "not the message"])
        let other = logger(.json, clock: clock, sink: sink)
        other.info("one", metadata: ["c": "3", "msg": "not the message", "a": "1", "b": "2", "zeta": "handler"])
        let lines = sink.lines
        #expect(lines.count == 2)
        #expect(lines[0] == lines[1])
        #expect(lines[0] == #"{"ts":"2025-12-02T21:42:25.123Z","level":"info","logger":"kate.test","msg":"one","a":"1","b":"2","c":"3","meta.msg":"not the message","zeta":"handler"}"# + "\n")
    }

    @Test("an error passed with the event gets its own key, after msg")
    func errorKey() throws {
        struct Broken: Error, CustomStringConvertible { var description: String { "disk \"full\"" } }
        let sink = RecordingLogSink()
        let handler = KateLogHandler(label: "kate.test", format: .json, clock: ScriptedLogClock([LogTime(seconds: 0)]), sink: sink)
        handler.log(event: LogEvent(level: .error, message: "write failed", error: Broken(), metadata: nil, source: "t", file: #fileID, function: #function, line: #line))
        #expect(sink.lines == [#"{"ts":"1970-01-01T00:00:00.000Z","level":"error","logger":"kate.test","msg":"write failed","error":"disk \"full\""}"# + "\n"])
    }

    @Test("timestamps come from the injected clock by arithmetic: one clock read per line, the same text Foundation's ISO 8601 formatter gives")
    func timestampsFromInjectedClock() throws {
        let instants: [(LogTime, String)] = [
            (LogTime(seconds: 0), "1970-01-01T00:00:00.000Z"),
            (LogTime(seconds: -1, nanoseconds: 500_000_000), "1969-12-31T23:59:59.500Z"),
            (LogTime(seconds: 951_868_799, nanoseconds: 999_999_999), "2000-02-29T23:59:59.999Z"),
            (LogTime(seconds: 951_868_800), "2000-03-01T00:00:00.000Z"),
            (LogTime(seconds: 1_798_761_599, nanoseconds: 1_000_000), "2026-12-31T23:59:59.001Z"),
            (LogTime(seconds: 4_107_542_400), "2100-03-01T00:00:00.000Z"),
            (LogTime(seconds: 253_402_300_799), "9999-12-31T23:59:59.000Z"),
        ]
        let clock = ScriptedLogClock(instants.map(\.0))
        let sink = RecordingLogSink()
        let log = logger(.json, clock: clock, sink: sink)
        for _ in instants { log.info("tick") }
        #expect(clock.reads == instants.count)
        let stamps = try sink.lines.map { line in
            try #require((try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["ts"] as? String)
        }
        #expect(stamps == instants.map(\.1))

        // Random instants against an independent implementation.
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let seconds = Int64.random(in: -2_000_000_000...8_000_000_000, using: &generator)
            let millis = Int32.random(in: 0...999, using: &generator)
            var buffer = LogLineBuffer()
            buffer.appendTimestamp(LogTime(seconds: seconds, nanoseconds: millis * 1_000_000 + 400_000))
            let expected = formatter.string(from: Date(timeIntervalSince1970: Double(seconds) + Double(millis) / 1000 + 0.0004))
            #expect(String(decoding: buffer.bytes, as: UTF8.self) == expected)
        }
    }

    @Test("below the level nothing is formatted: the clock is not read")
    func belowLevelCostsNothing() {
        let clock = ScriptedLogClock([LogTime(seconds: 0)])
        let sink = RecordingLogSink()
        let log = logger(.json, clock: clock, sink: sink, level: .info)
        for _ in 0..<100 { log.debug("per review \(UUID())") }
        #expect(clock.reads == 0)
        #expect(sink.lines.isEmpty)
    }

    @Test("text lines: one line per event, values quoted only when they need it, metadata sorted")
    func textLines() {
        let clock = ScriptedLogClock([LogTime(seconds: 1_764_711_745, nanoseconds: 5_000_000)])
        let sink = RecordingLogSink()
        logger(.text, clock: clock, sink: sink).notice("received SIGTERM:\ndraining", metadata: [
            "uid": "abc-123", "reason": "no space left", "images": ["app=nginx:1.27", "b=c d"], "empty": "",
        ])
        #expect(sink.lines == [
            #"2025-12-02T21:42:25.005Z notice kate.test: received SIGTERM:\ndraining empty="" images=["app=nginx:1.27","b=c d"] reason="no space left" uid=abc-123"# + "\n"
        ])
    }

    @Test("the stderr sink writes whole lines to its descriptor")
    func fileDescriptorSink() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let sink = FileDescriptorLogSink(descriptor: fds[1])
        Logger(label: "kate.test") { KateLogHandler(label: $0, format: .json, clock: ScriptedLogClock([LogTime(seconds: 0)]), sink: sink) }
            .info("hello")
        close(fds[1])
        let read = FileHandle(fileDescriptor: fds[0], closeOnDealloc: true).readDataToEndOfFile()
        #expect(String(decoding: read, as: UTF8.self) == #"{"ts":"1970-01-01T00:00:00.000Z","level":"info","logger":"kate.test","msg":"hello"}"# + "\n")
    }
}
