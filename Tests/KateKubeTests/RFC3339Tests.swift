import Foundation
import Testing
@testable import KateKube

@Suite("RFC 3339 timestamps")
struct RFC3339Tests {
    @Test("the arithmetic UTC path agrees with Foundation's formatter, fractions included")
    func agreesWithFormatter() throws {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for text in ["2026-12-03T01:02:03.123456Z", "1999-12-31T23:59:59.5Z", "2000-02-29T12:00:00.000001Z", "1969-07-20T20:17:40.25Z"] {
            let fast = try #require(RFC3339.parseUTC(text), "\(text)")
            let slow = try #require(formatter.date(from: text))
            #expect(abs(fast.timeIntervalSince(slow)) < 0.001, "\(text)")
        }
        #expect(RFC3339.parseUTC("2026-12-03T01:02:03Z") == Date(timeIntervalSince1970: 1_796_259_723))
        #expect(RFC3339.parse(RFC3339.format(Date(timeIntervalSince1970: 1_796_259_723))) == Date(timeIntervalSince1970: 1_796_259_723))
    }

    @Test("offsets go to the formatter; malformed and impossible dates are nil on the fast path")
    func edges() {
        #expect(RFC3339.parseUTC("2026-12-03T02:02:03+01:00") == nil)
        #expect(RFC3339.parse("2026-12-03T02:02:03+01:00") == Date(timeIntervalSince1970: 1_796_259_723))
        for bad in ["2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-12-03 01:02:03Z", "2026-12-03T01:02:03.Z", "2026-12-03T24:00:00Z", "garbage", ""] {
            #expect(RFC3339.parseUTC(bad) == nil, "\(bad)")
        }
    }
}
