import Foundation
import KateNet

/// `2026-11-26T04:58:01Z`, the form Foundation's `.iso8601` style prints, for the
/// `kate.dev/resolved-at` annotation of every pinned pod. Foundation's formatter costs more than
/// the rest of a cached review's patch; this is plain arithmetic on the Unix time.
enum UTCTimestamp {
    static func string(from date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let (days, secondOfDay) = CivilDate.split(unixSeconds: seconds)
        let (year, month, day) = CivilDate.from(daysSinceEpoch: days)
        var text = ""
        text.reserveCapacity(20)
        text += padded(year, 4) + "-" + padded(month, 2) + "-" + padded(day, 2)
        text += "T" + padded(secondOfDay / 3600, 2) + ":" + padded(secondOfDay / 60 % 60, 2) + ":" + padded(secondOfDay % 60, 2) + "Z"
        return text
    }

    private static func padded(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
