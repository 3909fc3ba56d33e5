/// Parses Go's `time.Duration` notation, which the apiserver uses in `?timeout=10s` and kate
/// uses for its duration flags: a sequence of decimal numbers with units
/// (`ns`, `us`, `µs`, `ms`, `s`, `m`, `h`), e.g. `10s`, `500ms`, `1m30s`, `1.5h`.
public enum GoDuration {
    ///
    /// Runs on every review (the apiserver's `?timeout=`), so it works on the UTF-8 bytes: whole
    /// numbers (the only kind the apiserver sends) are exact integers, fractions go through Double.
    public static func parse(_ text: String) -> Duration? {
        var text = text
        return text.withUTF8 { parse(bytes: $0) }
    }

    private static func parse(bytes: UnsafeBufferPointer<UInt8>) -> Duration? {
        var start = 0, end = bytes.count
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        guard start < end else { return nil }
        if end - start == 1, bytes[start] == UInt8(ascii: "0") { return .zero }
        var total = Duration.zero
        var i = start
        while i < end {
            let numberStart = i
            var whole: Int64 = 0, exact = true
            while i < end, isNumberByte(bytes[i]) {
                if bytes[i] == UInt8(ascii: ".") {
                    exact = false
                } else if exact {
                    let (times10, o1) = whole.multipliedReportingOverflow(by: 10)
                    let (sum, o2) = times10.addingReportingOverflow(Int64(bytes[i] - UInt8(ascii: "0")))
                    if o1 || o2 { exact = false } else { whole = sum }
                }
                i += 1
            }
            guard i > numberStart else { return nil }
            let unitStart = i
            while i < end, !isNumberByte(bytes[i]) { i += 1 }
            guard let nanosPerUnit = unitNanoseconds(UnsafeBufferPointer(rebasing: bytes[unitStart..<i])) else { return nil }
            if exact {
                let (nanos, overflow) = whole.multipliedReportingOverflow(by: nanosPerUnit)
                guard !overflow else { return nil }
                total += .nanoseconds(nanos)
            } else {
                guard let value = Double(String(decoding: UnsafeBufferPointer(rebasing: bytes[numberStart..<unitStart]), as: UTF8.self)),
                      value.isFinite else { return nil }
                let nanos = value * Double(nanosPerUnit)
                guard nanos < 9.2e18 else { return nil }
                total += .nanoseconds(Int64(nanos))
            }
        }
        return total
    }

    private static func isNumberByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: ".")
    }

    /// Nanoseconds per unit: `ns`, `us`/`µs`/`μs`, `ms`, `s`, `m`, `h`.
    private static func unitNanoseconds(_ unit: UnsafeBufferPointer<UInt8>) -> Int64? {
        switch unit.count {
        case 1:
            switch unit[0] {
            case UInt8(ascii: "s"): return 1_000_000_000
            case UInt8(ascii: "m"): return 60_000_000_000
            case UInt8(ascii: "h"): return 3_600_000_000_000
            default: return nil
            }
        case 2 where unit[1] == UInt8(ascii: "s"):
            switch unit[0] {
            case UInt8(ascii: "n"): return 1
            case UInt8(ascii: "u"): return 1_000
            case UInt8(ascii: "m"): return 1_000_000
            default: return nil
            }
        case 3 where unit[2] == UInt8(ascii: "s"):
            // µ (U+00B5, MICRO SIGN) and μ (U+03BC, GREEK SMALL LETTER MU), as Go accepts both.
            return (unit[0] == 0xC2 && unit[1] == 0xB5) || (unit[0] == 0xCE && unit[1] == 0xBC) ? 1_000 : nil
        default:
            return nil
        }
    }

    /// `3h`, `12m`, `45s`, `800ms`: the coarsest unit that keeps the number whole-ish, for
    /// warnings that must stay short.
    public static func humanize(_ duration: Duration) -> String {
        let ms = Int64(duration / .milliseconds(1))
        if ms >= 3_600_000 { return "\(ms / 3_600_000)h" }
        if ms >= 60_000 { return "\(ms / 60_000)m" }
        if ms >= 1_000 { return "\(ms / 1_000)s" }
        return "\(ms)ms"
    }
}
