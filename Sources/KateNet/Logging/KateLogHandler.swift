import Logging

/// The two line formats kate writes.
public enum LogFormat: String, Sendable {
    /// `2026-12-02T21:42:25.123Z info kate.webhook: message key=value …`
    case text
    /// One JSON object per line with a fixed key order:
    /// `{"ts":…,"level":…,"logger":…,"msg":…,"error":…,<metadata, keys sorted>}`: what log
    /// shippers (Loki, Cloud Logging, Elastic) parse without configuration.
    case json
}

/// kate's log handler, for both formats. Cheap by construction, because a webhook logs from its
/// hot path: the line is appended by hand into one byte buffer (no `JSONSerialization`, no
/// date formatter, no intermediate dictionary of `Any`), the timestamp comes from the clock by
/// integer arithmetic, and the finished line goes out in one `write(2)`. A line below
/// `logLevel` costs nothing here: swift-log checks the level before building the message.
public struct KateLogHandler: LogHandler {
    public let label: String
    public let format: LogFormat
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let clock: any LogClock
    private let sink: any LogSink

    public init(
        label: String, format: LogFormat, level: Logger.Level = .info, clock: any LogClock = SystemLogClock(),
        sink: any LogSink = FileDescriptorLogSink.standardError, metadataProvider: Logger.MetadataProvider? = nil
    ) {
        self.label = label
        self.format = format
        self.logLevel = level
        self.clock = clock
        self.sink = sink
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        sink.write(line: line(for: event))
    }

    /// The bytes `log(event:)` writes, newline included.
    func line(for event: LogEvent) -> [UInt8] {
        let merged = mergedMetadata(event.metadata)
        var buffer = LogLineBuffer(capacity: 192 + merged.count * 32)
        switch format {
        case .json: writeJSON(event, merged, into: &buffer)
        case .text: writeText(event, merged, into: &buffer)
        }
        buffer.append(0x0A)
        return buffer.bytes
    }

    /// Handler metadata, then the provider's, then the event's: later wins on a shared key.
    private func mergedMetadata(_ extra: Logger.Metadata?) -> Logger.Metadata {
        let provided = metadataProvider?.get() ?? [:]
        if provided.isEmpty, extra?.isEmpty ?? true { return metadata }
        var merged = metadata
        if !provided.isEmpty { merged.merge(provided) { _, new in new } }
        if let extra, !extra.isEmpty { merged.merge(extra) { _, new in new } }
        return merged
    }

    /// Keys the JSON line owns; metadata under these names is written with a `meta.` prefix
    /// rather than producing a duplicate key (which JSON readers resolve differently).
    private static let reservedKeys: Set<String> = ["ts", "level", "logger", "msg", "error"]

    private func writeJSON(_ event: LogEvent, _ metadata: Logger.Metadata, into buffer: inout LogLineBuffer) {
        buffer.append(#"{"ts":""#)
        buffer.appendTimestamp(clock.now())
        buffer.append(#"","level":""#)
        buffer.append(raw: event.level.rawValue)
        buffer.append(#"","logger":"#)
        buffer.appendJSONString(label)
        buffer.append(#","msg":"#)
        buffer.appendJSONString(event.message.description)
        if let error = event.error {
            buffer.append(#","error":"#)
            buffer.appendJSONString(String(describing: error))
        }
        for key in metadata.keys.sorted() {
            buffer.append(UInt8(ascii: ","))
            buffer.appendJSONString(Self.reservedKeys.contains(key) ? "meta." + key : key)
            buffer.append(UInt8(ascii: ":"))
            buffer.appendJSONValue(metadata[key] ?? .string(""))
        }
        buffer.append(UInt8(ascii: "}"))
    }

    private func writeText(_ event: LogEvent, _ metadata: Logger.Metadata, into buffer: inout LogLineBuffer) {
        buffer.appendTimestamp(clock.now())
        buffer.append(UInt8(ascii: " "))
        buffer.append(raw: event.level.rawValue)
        buffer.append(UInt8(ascii: " "))
        buffer.append(raw: label)
        buffer.append(": ")
        // The message stays readable, but a newline in it must not start a fake log line.
        buffer.appendSingleLine(event.message.description)
        if let error = event.error {
            buffer.append(" error=")
            buffer.appendTextValue(.string(String(describing: error)))
        }
        for key in metadata.keys.sorted() {
            buffer.append(UInt8(ascii: " "))
            buffer.append(raw: key)
            buffer.append(UInt8(ascii: "="))
            buffer.appendTextValue(metadata[key] ?? .string(""))
        }
    }
}
