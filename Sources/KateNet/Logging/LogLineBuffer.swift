import Logging

/// The bytes of one log line, appended by hand: the JSON and text handlers write straight into
/// one buffer with no intermediate strings, formatters or dictionaries.
struct LogLineBuffer {
    private(set) var bytes: [UInt8]

    init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    mutating func append(_ byte: UInt8) { bytes.append(byte) }

    mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func append(raw text: String) {
        var text = text
        text.withUTF8 { bytes.append(contentsOf: $0) }
    }

    /// `2026-12-02T21:42:25.123Z`: the civil date from the day count (`CivilDate`), milliseconds truncated. Valid for every `Int64` second a clock returns
    /// in this era; years are written with four digits (0000–9999).
    mutating func appendTimestamp(_ time: LogTime) {
        let (days, second) = CivilDate.split(unixSeconds: time.seconds)
        let secondOfDay = Int(second)
        let civil = CivilDate.from(daysSinceEpoch: days)
        let (year, month, day) = (Int(civil.year), Int(civil.month), Int(civil.day))
        appendDigits(max(0, min(9999, year)), count: 4)
        append(UInt8(ascii: "-"))
        appendDigits(month, count: 2)
        append(UInt8(ascii: "-"))
        appendDigits(day, count: 2)
        append(UInt8(ascii: "T"))
        appendDigits(secondOfDay / 3600, count: 2)
        append(UInt8(ascii: ":"))
        appendDigits(secondOfDay / 60 % 60, count: 2)
        append(UInt8(ascii: ":"))
        appendDigits(secondOfDay % 60, count: 2)
        append(UInt8(ascii: "."))
        appendDigits(Int(max(0, min(999_999_999, time.nanoseconds))) / 1_000_000, count: 3)
        append(UInt8(ascii: "Z"))
    }

    /// `value` zero-padded to `count` digits (`value` must fit).
    private mutating func appendDigits(_ value: Int, count: Int) {
        var divisor = 1
        for _ in 1..<count { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
            rest %= divisor
            divisor /= 10
        }
    }

    // MARK: JSON

    /// A JSON string literal (RFC 8259 §7), escaped by `JSONEscaping` like every JSON kate writes.
    mutating func appendJSONString(_ text: String) {
        JSONEscaping.appendQuoted(text, to: &bytes)
    }

    /// A metadata value as JSON: strings as strings, arrays as arrays, dictionaries as objects
    /// with their keys sorted (a stable order a reader can diff).
    mutating func appendJSONValue(_ value: Logger.MetadataValue) {
        switch value {
        case .string(let text):
            appendJSONString(text)
        case .stringConvertible(let convertible):
            appendJSONString(convertible.description)
        case .array(let values):
            append(UInt8(ascii: "["))
            for (index, element) in values.enumerated() {
                if index > 0 { append(UInt8(ascii: ",")) }
                appendJSONValue(element)
            }
            append(UInt8(ascii: "]"))
        case .dictionary(let dictionary):
            append(UInt8(ascii: "{"))
            for (index, key) in dictionary.keys.sorted().enumerated() {
                if index > 0 { append(UInt8(ascii: ",")) }
                appendJSONString(key)
                append(UInt8(ascii: ":"))
                appendJSONValue(dictionary[key] ?? .string(""))
            }
            append(UInt8(ascii: "}"))
        }
    }

    // MARK: Text

    /// A metadata value for the text format: bare when it is a simple token, quoted (with the
    /// JSON escapes, so a line never breaks) when it has spaces, quotes, `=` or control characters.
    mutating func appendTextValue(_ value: Logger.MetadataValue) {
        switch value {
        case .string(let text):
            appendTextToken(text)
        case .stringConvertible(let convertible):
            appendTextToken(convertible.description)
        case .array(let values):
            append(UInt8(ascii: "["))
            for (index, element) in values.enumerated() {
                if index > 0 { append(UInt8(ascii: ",")) }
                appendTextValue(element)
            }
            append(UInt8(ascii: "]"))
        case .dictionary(let dictionary):
            append(UInt8(ascii: "{"))
            for (index, key) in dictionary.keys.sorted().enumerated() {
                if index > 0 { append(UInt8(ascii: ",")) }
                appendTextToken(key)
                append(UInt8(ascii: "="))
                appendTextValue(dictionary[key] ?? .string(""))
            }
            append(UInt8(ascii: "}"))
        }
    }

    /// `text` as is, except control characters, which are escaped as in JSON (`\n`), so that a
    /// message never spans two lines.
    mutating func appendSingleLine(_ text: String) {
        JSONEscaping.appendSingleLine(text, to: &bytes)
    }

    private mutating func appendTextToken(_ text: String) {
        let plain = !text.isEmpty && text.utf8.allSatisfy { byte in
            byte > 0x20 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "=") && byte != UInt8(ascii: "\\")
                && byte != UInt8(ascii: ",") && byte != UInt8(ascii: "[") && byte != UInt8(ascii: "]")
                && byte != UInt8(ascii: "{") && byte != UInt8(ascii: "}")
        }
        if plain { append(raw: text) } else { appendJSONString(text) }
    }
}
