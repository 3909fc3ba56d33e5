import Foundation

/// A weekly maintenance window: `Sat 02:00-04:00 Europe/Berlin`, `Mon-Fri 22:00-02:00`,
/// `Mon,Wed,Fri 01:00-03:00 America/New_York`, or `02:00-04:00` (every day). The window opens on
/// each listed day at the start time (local to its time zone, UTC when none is named) and closes at
/// the end time, on the next day when the end is not after the start (it crosses midnight).
///
/// Local times are turned into instants the way Python's `zoneinfo` does with `fold=0`: a time that
/// occurs twice (clocks go back) is its first occurrence; a time that does not occur (clocks go
/// forward) is read with the offset in force before the change, so 02:30 on the spring-forward
/// day in Europe/Berlin is 03:30 CEST. scripts/window-check.py checks kate against `zoneinfo`.
public struct MaintenanceWindow: Sendable, Hashable, CustomStringConvertible {
    /// ISO weekdays the window opens on: 1 = Monday … 7 = Sunday.
    public let days: Set<Int>
    /// Minutes after local midnight.
    public let start: Int
    public let end: Int
    public let timeZone: TimeZone
    /// The zone as written ("UTC" when none was): Foundation calls UTC "GMT".
    public let zoneName: String
    /// As written, for messages.
    public let text: String

    public var description: String { text }

    static let dayNames = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]

    /// Parses one window. Throws `WindowSyntaxError` with the fix.
    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        self.text = trimmed
        var words = trimmed.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard !words.isEmpty else { throw WindowSyntaxError(text, "empty window") }
        var days = Set(1...7)
        if let first = words.first, first.first?.isLetter == true {
            days = try Self.parseDays(first, in: trimmed)
            words.removeFirst()
        }
        guard let range = words.first else { throw WindowSyntaxError(text, "no time range") }
        words.removeFirst()
        let bounds = range.split(separator: "-", omittingEmptySubsequences: false)
        guard bounds.count == 2, let start = Self.parseTime(bounds[0]), let end = Self.parseTime(bounds[1]) else {
            throw WindowSyntaxError(text, "time range \"\(range)\" is not HH:MM-HH:MM")
        }
        guard start < 24 * 60 else { throw WindowSyntaxError(text, "a window cannot start at 24:00; write 00:00") }
        guard start != end else { throw WindowSyntaxError(text, "start and end are equal; a window must have a length") }
        guard words.count <= 1 else { throw WindowSyntaxError(text, "unexpected \"\(words.dropFirst().joined(separator: " "))\"") }
        self.zoneName = words.first ?? "UTC"
        self.timeZone = try Self.zone(named: zoneName, in: trimmed)
        self.days = days
        self.start = start
        self.end = end
    }

    /// Whether `instant` falls inside the window: it opened on a listed day (today or, for a window
    /// that crosses midnight, yesterday) at or before `instant`, and has not closed yet.
    public func contains(_ instant: Date) -> Bool {
        let today = LocalDay(instant, in: timeZone)
        for day in [today.adding(days: -1), today] where days.contains(day.isoWeekday) {
            let (opens, closes) = interval(openingOn: day)
            if opens <= instant && instant < closes { return true }
        }
        return false
    }

    /// The first opening strictly after `instant` (within the next eight days).
    public func nextOpening(after instant: Date) -> Date? {
        let today = LocalDay(instant, in: timeZone)
        for offset in 0...8 {
            let day = today.adding(days: offset)
            guard days.contains(day.isoWeekday) else { continue }
            let opens = interval(openingOn: day).opens
            if opens > instant { return opens }
        }
        return nil
    }

    /// "Sat 02:00 Europe/Berlin": an opening, in the window's own zone.
    public func describeOpening(_ instant: Date) -> String {
        let day = LocalDay(instant, in: timeZone)
        let seconds = Int(instant.timeIntervalSince1970) + timeZone.secondsFromGMT(for: instant)
        let minutes = ((seconds % 86_400) + 86_400) % 86_400 / 60
        return "\(Self.dayNames[day.isoWeekday - 1]) \(String(format: "%02d:%02d", minutes / 60, minutes % 60)) \(zoneName)"
    }

    func interval(openingOn day: LocalDay) -> (opens: Date, closes: Date) {
        let opens = LocalTime.instant(wallSeconds: day.wallSeconds + start * 60, in: timeZone)
        let closeDay = end > start ? day : day.adding(days: 1)
        let closes = LocalTime.instant(wallSeconds: closeDay.wallSeconds + end * 60, in: timeZone)
        return (opens, closes)
    }

    private static func parseDays(_ word: String, in text: String) throws -> Set<Int> {
        var days = Set<Int>()
        for item in word.split(separator: ",", omittingEmptySubsequences: false) {
            let ends = item.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(ends.count), let first = day(ends[0]), let last = day(ends[ends.count - 1]) else {
                throw WindowSyntaxError(text, "days \"\(word)\" are not like Sat, Mon-Fri or Mon,Wed,Fri")
            }
            // Fri-Mon wraps through the weekend.
            var current = first
            while true {
                days.insert(current)
                if current == last { break }
                current = current % 7 + 1
            }
        }
        return days
    }

    private static func day(_ name: Substring) -> Int? {
        dayNames.firstIndex { $0.caseInsensitiveCompare(name) == .orderedSame }.map { $0 + 1 }
    }

    /// "HH:MM" (24:00 allowed as an end of day) → minutes.
    private static func parseTime(_ text: Substring) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let hours = Int(parts[0]), let minutes = Int(parts[1]),
            parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }), (0..<60).contains(minutes)
        else { return nil }
        guard (0..<24).contains(hours) || (hours == 24 && minutes == 0) else { return nil }
        return hours * 60 + minutes
    }

    static let zoneDirectory = "/usr/share/zoneinfo"

    /// Foundation resolves zones from the ICU data it bundles (lib_FoundationICU), not from
    /// /usr/share/zoneinfo or TZDIR, so a slim image without tzdata still knows every IANA zone;
    /// without that directory the error says where the list of names comes from.
    private static func zone(named name: String, in text: String) throws -> TimeZone {
        if let zone = TimeZone(identifier: name) { return zone }
        let listing = FileManager.default.fileExists(atPath: zoneDirectory)
            ? " (the names are those under \(zoneDirectory))"
            : " (this system has no \(zoneDirectory) listing the names: apt-get install tzdata)"
        throw WindowSyntaxError(text, "unknown time zone \"\(name)\"; use an IANA name like Europe/Berlin or UTC\(listing)")
    }
}

/// A window that does not parse: what was wrong and how windows are written.
public struct WindowSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public let window: String
    public let problem: String

    init(_ window: String, _ problem: String) {
        self.window = window
        self.problem = problem
    }

    public var description: String {
        "invalid maintenance window \"\(window)\": \(problem); write it like \"Sat 02:00-04:00 Europe/Berlin\" or \"Mon-Fri 22:00-02:00 UTC\""
    }
}

/// A calendar day in a time zone, as the instant its midnight would be in UTC ("wall seconds").
struct LocalDay {
    /// Seconds since 1970 of this day's 00:00 read as if it were UTC.
    let wallSeconds: Int

    init(_ instant: Date, in zone: TimeZone) {
        let wall = Int(instant.timeIntervalSince1970.rounded(.down)) + zone.secondsFromGMT(for: instant)
        wallSeconds = Int((Double(wall) / 86_400).rounded(.down)) * 86_400
    }

    private init(wallSeconds: Int) { self.wallSeconds = wallSeconds }

    func adding(days: Int) -> LocalDay { LocalDay(wallSeconds: wallSeconds + days * 86_400) }

    /// 1970-01-01 was a Thursday (ISO 4).
    var isoWeekday: Int { ((wallSeconds / 86_400 % 7 + 7) % 7 + 3) % 7 + 1 }
}

/// Wall time → instant, `fold=0` (see `MaintenanceWindow`).
enum LocalTime {
    static func instant(wallSeconds wall: Int, in zone: TimeZone) -> Date {
        // The offsets a day either side: offset changes are further apart than that.
        let before = zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(wall - 86_400)))
        let after = zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(wall + 86_400)))
        let candidates = [wall - before, wall - after].filter { candidate in
            zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(candidate))) == wall - candidate
        }
        // Twice (clocks went back): the first. Never (clocks went forward): the offset before the change.
        let chosen = candidates.min() ?? (wall - before)
        return Date(timeIntervalSince1970: Double(chosen))
    }
}
