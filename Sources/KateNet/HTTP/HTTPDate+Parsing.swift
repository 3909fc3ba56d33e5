/// The three HTTP-date forms a recipient must accept (RFC 9110 §5.6.7): IMF-fixdate
/// `Sun, 06 Nov 1994 08:49:37 GMT`, the obsolete RFC 850 `Sunday, 06-Nov-94 08:49:37 GMT` and
/// asctime `Sun Nov  6 08:49:37 1994`.
extension HTTPDate {
    private static let longDays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

    static func secondsSince1970(_ text: String) -> Int64? {
        let parts = text.split(separator: " ")
        switch parts.count {
        case 6 where parts[5] == "GMT" && parts[0].hasSuffix(","):  // IMF-fixdate
            guard days.contains(String(parts[0].dropLast())), let day = Int(parts[1]), parts[1].count == 2,
                let month = month(parts[2]), parts[3].count == 4, let year = Int(parts[3])
            else { return nil }
            return timestamp(year: year, month: month, day: day, time: parts[4])
        case 4 where parts[3] == "GMT" && parts[0].hasSuffix(","):  // RFC 850
            let date = parts[1].split(separator: "-", omittingEmptySubsequences: false)
            guard longDays.contains(String(parts[0].dropLast())), date.count == 3, date[0].count == 2, let day = Int(date[0]),
                let month = month(date[1]), date[2].count == 2, let yy = Int(date[2])
            else { return nil }
            // Two-digit years: RFC 9110 reads one more than 50 years ahead as the past century.
            return timestamp(year: yy < 70 ? 2000 + yy : 1900 + yy, month: month, day: day, time: parts[2])
        case 5:  // asctime
            guard days.contains(String(parts[0])), let month = month(parts[1]), parts[2].count <= 2, let day = Int(parts[2]),
                parts[4].count == 4, let year = Int(parts[4])
            else { return nil }
            return timestamp(year: year, month: month, day: day, time: parts[3])
        default:
            return nil
        }
    }

    private static func month(_ name: Substring) -> Int? {
        months.firstIndex(of: String(name)).map { $0 + 1 }
    }

    private static func timestamp(year: Int, month: Int, day: Int, time: Substring) -> Int64? {
        let clock = time.split(separator: ":", omittingEmptySubsequences: false)
        guard clock.count == 3, clock.allSatisfy({ $0.count == 2 }),
            let hour = Int(clock[0]), let minute = Int(clock[1]), let second = Int(clock[2]),
            (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second),
            day >= 1, day <= daysIn(month: month, year: year)
        else { return nil }
        return daysSince1970(year: year, month: month, day: day) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's `days_from_civil`).
    private static func daysSince1970(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * Int64(month > 2 ? month - 3 : month + 9) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
