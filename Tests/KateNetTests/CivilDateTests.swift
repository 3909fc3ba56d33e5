import Testing
@testable import KateNet

@Suite("Civil dates")
struct CivilDateTests {
    @Test("daysSinceEpoch inverts from(daysSinceEpoch:) across eras, leap days and before 1970")
    func roundTrip() {
        for days in stride(from: Int64(-800_000), through: 800_000, by: 97) {
            let (year, month, day) = CivilDate.from(daysSinceEpoch: days)
            #expect(CivilDate.daysSinceEpoch(year: year, month: month, day: day) == days)
        }
        #expect(CivilDate.daysSinceEpoch(year: 1970, month: 1, day: 1) == 0)
        #expect(CivilDate.daysSinceEpoch(year: 2000, month: 2, day: 29) == 11_016)
        #expect(CivilDate.daysSinceEpoch(year: 1969, month: 12, day: 31) == -1)
    }
}
