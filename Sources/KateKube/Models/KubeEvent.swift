import Foundation
import KateNet

/// `core/v1.ObjectReference`, as `events.k8s.io/v1` Event.regarding uses it.
public struct ObjectReference: Codable, Sendable, Equatable {
    public var apiVersion: String?
    public var kind: String?
    public var namespace: String?
    public var name: String?
    public var uid: String?

    public init(apiVersion: String? = nil, kind: String? = nil, namespace: String? = nil, name: String? = nil, uid: String? = nil) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.uid = uid
    }
}

/// An `events.k8s.io/v1` Event about an object kate acted on, shown by `kubectl events` and
/// `kubectl describe`.
public struct KubeEvent: Sendable, Equatable {
    public enum EventType: String, Sendable { case normal = "Normal", warning = "Warning" }

    public var regarding: ObjectReference
    /// A second object the event is about (the sweeper: the pod it evicted from `regarding`'s workload).
    public var related: ObjectReference?
    /// UpperCamelCase, e.g. `StaleDigest`, `RolloutRestarted`.
    public var reason: String
    /// Human-readable, at most 1 KiB (the API rejects longer notes).
    public var note: String
    public var type: EventType
    /// What kate did: `RolloutRestart`, `Evict`, `Delete`, `Report`.
    public var action: String
    public var reportingController: String
    /// Which kate process reported it (the Pod name in a cluster, the host name elsewhere).
    public var reportingInstance: String
    public var eventTime: Date

    public init(
        regarding: ObjectReference, reason: String, note: String, type: EventType = .normal, action: String,
        reportingController: String = "kate.dev/sweeper", reportingInstance: String, eventTime: Date = Date(),
        related: ObjectReference? = nil
    ) {
        self.regarding = regarding
        self.related = related
        self.reason = reason
        self.note = note
        self.type = type
        self.action = action
        self.reportingController = reportingController
        self.reportingInstance = reportingInstance
        self.eventTime = eventTime
    }

    /// The name follows client-go's recorder: `<object name>.<event time in hex nanoseconds>`,
    /// unique per event; a series update addresses the Event by it.
    public var name: String {
        let nanos = UInt64(max(0, eventTime.timeIntervalSince1970) * 1_000_000_000)
        return "\(regarding.name ?? "kate").\(String(nanos, radix: 16))"
    }

    /// The JSON body for `POST /apis/events.k8s.io/v1/namespaces/{ns}/events`.
    func requestBody(namespace: String) throws -> [UInt8] {
        let body = Body(
            metadata: .init(name: name, namespace: namespace),
            eventTime: MicroTime.format(eventTime),
            regarding: regarding, related: related, reason: reason, note: String(note.prefix(1024)), type: type.rawValue,
            action: action, reportingController: reportingController, reportingInstance: reportingInstance
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(body))
    }

    /// A merge patch counting repeats the way client-go's event broadcaster does for events.k8s.io:
    /// `series.count` (at least 2 once there is a series) and `series.lastObservedTime`, with the
    /// note brought up to date. `kubectl describe` shows it as "(x3 over 2m)".
    func seriesPatch(count: Int, lastObserved: Date) throws -> [UInt8] {
        struct Patch: Encodable {
            struct Series: Encodable { var count: Int; var lastObservedTime: String }
            var series: Series
            var note: String
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(Patch(series: .init(count: max(2, count), lastObservedTime: MicroTime.format(lastObserved)), note: String(note.prefix(1024)))))
    }

    private struct Body: Encodable {
        struct Meta: Encodable { var name: String; var namespace: String }
        var apiVersion = "events.k8s.io/v1"
        var kind = "Event"
        var metadata: Meta
        var eventTime: String
        var regarding: ObjectReference
        var related: ObjectReference?
        var reason: String
        var note: String
        var type: String
        var action: String
        var reportingController: String
        var reportingInstance: String
    }
}

/// `metav1.MicroTime` and `metav1.Time` wire formats (RFC 3339 in UTC).
enum MicroTime {
    /// `2024-05-01T12:34:56.123456Z`: the API requires microseconds in `eventTime`.
    static func format(_ date: Date) -> String {
        // Round to the microsecond once, so a Double just below .123456 does not print .123455.
        let totalMicros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        let seconds = totalMicros >= 0 ? totalMicros / 1_000_000 : (totalMicros - 999_999) / 1_000_000
        let micros = totalMicros - seconds * 1_000_000
        let base = RFC3339.format(Date(timeIntervalSince1970: TimeInterval(seconds)))
        return String(base.dropLast()) + "." + String(format: "%06d", Int(micros)) + "Z"
    }
}

/// `2024-05-01T12:34:56Z`, what `time.RFC3339` prints for a UTC time (and `metav1.Time` on the wire).
public enum RFC3339 {
    public static func format(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0) ?? calendar.timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", c.year ?? 1970, c.month ?? 1, c.day ?? 1, c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
    }

    /// Parses `…Z` and `…±hh:mm`, with or without fractional seconds.
    public static func parse(_ string: String) -> Date? {
        if let utc = parseUTC(string) { return utc }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: string) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: string)
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (what the API server and kate write) by arithmetic; nil for
    /// anything else, which the formatter above then reads.
    static func parseUTC(_ string: String) -> Date? {
        let bytes = Array(string.utf8)
        guard bytes.count >= 20, bytes.last == UInt8(ascii: "Z"), bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
              bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t"), bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":")
        else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for index in range {
                let digit = bytes[index] &- UInt8(ascii: "0")
                guard digit <= 9 else { return nil }
                value = value * 10 + Int64(digit)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
              let minute = number(14..<16), let second = number(17..<19),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var fraction = 0.0
        if bytes.count > 20 {
            guard bytes[19] == UInt8(ascii: "."), bytes.count > 21, bytes.count - 21 <= 18, let digits = number(20..<(bytes.count - 1)) else { return nil }
            fraction = Double(digits) / pow(10, Double(bytes.count - 21))
        } else if bytes[19] != UInt8(ascii: "Z") {
            return nil
        }
        let days = CivilDate.daysSinceEpoch(year: year, month: month, day: day)
        guard CivilDate.from(daysSinceEpoch: days) == (year, month, day) else { return nil }  // 2026-02-30
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }
}
