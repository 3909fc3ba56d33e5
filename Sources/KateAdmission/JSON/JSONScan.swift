/// The byte loops under `JSONReader`: finding the end of a string, a number, or a whole object
/// or array, over a raw buffer. They validate what they pass over (so a malformed body is a 400,
/// never a crash or a silently accepted review) and build nothing.
enum JSONScan {
    enum Outcome: Equatable {
        /// The offset just past the scanned value.
        case end(Int)
        case failed(String, at: Int)
    }

    /// The index of the first `"`, `\` or control character at or after `start` (or the end).
    /// Eight bytes at a time: the lowest flagged byte of a word is the answer, so even the short
    /// keys that make up most of a Kubernetes object take one or two steps.
    @inline(__always)
    static func stringStop(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var i = start
        if let base = buffer.baseAddress {
            let raw = UnsafeRawPointer(base)
            while i + 8 <= buffer.count {
                let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                let flags = stopFlags(in: word)
                if flags != 0 { return i + flags.trailingZeroBitCount / 8 }
                i += 8
            }
        }
        while i < buffer.count {
            let byte = buffer[i]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { return i }
            i += 1
        }
        return i
    }

    /// The high bit of each byte of `word` that is `"`, `\` or below 0x20 (the classic "has zero
    /// byte" trick: `(b - k) & ~b & 0x80` is set when b < k, for k ≤ 0x80). A borrow can set a
    /// false flag only above a true one, so the lowest flag is always exact.
    @inline(__always)
    private static func stopFlags(in word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        let quote = word ^ (ones &* 0x22), backslash = word ^ (ones &* 0x5C)
        let zeroQuote = (quote &- ones) & ~quote
        let zeroBackslash = (backslash &- ones) & ~backslash
        let control = (word &- ones &* 0x20) & ~word
        return (zeroQuote | zeroBackslash | control) & highs
    }

    /// From just after an opening `"`: the offset after the closing quote. Escapes are checked
    /// for shape only (`\u` plus four hex digits, or one of `"\/bfnrt`).
    @inline(__always)
    static func stringEnd(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int) -> Outcome {
        var i = start
        while true {
            i = stringStop(buffer, from: i)
            guard i < buffer.count else { return .failed("unterminated string", at: i) }
            switch buffer[i] {
            case UInt8(ascii: "\""):
                return .end(i + 1)
            case UInt8(ascii: "\\"):
                guard i + 1 < buffer.count else { return .failed("unterminated escape", at: i) }
                switch buffer[i + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                     UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    i += 2
                case UInt8(ascii: "u"):
                    guard i + 6 <= buffer.count else { return .failed("truncated \\u escape", at: i) }
                    for j in (i + 2)..<(i + 6) where !isHexDigit(buffer[j]) { return .failed("invalid \\u escape", at: j) }
                    i += 6
                default:
                    return .failed("invalid escape", at: i + 1)
                }
            default:
                return .failed("control character in string", at: i)
            }
        }
    }

    private static func isHexDigit(_ c: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(c)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(c)
    }

    /// The end of the run of number characters starting at `start` (`start` itself when there is
    /// none; the caller reports that). Like the reader has always done, the run is not checked
    /// against the number grammar: kate never reads a number out of a review.
    static func numberEnd(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var i = start
        while i < buffer.count {
            switch buffer[i] {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."),
                 UInt8(ascii: "e"), UInt8(ascii: "E"):
                i += 1
            default:
                return i
            }
        }
        return i
    }

    /// What may come next inside the containers being skipped.
    private enum Expecting {
        case value, valueOrClose, key, keyOrClose, colon, commaOrClose
    }

    /// From an opening `{` or `[` at `start`: the offset after its matching close, having checked
    /// the grammar of everything in between. Nesting past `maxDepth` (counted from `start`) is an
    /// error, which bounds the work a hostile body can ask for without any recursion.
    static func containerEnd(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int, maxDepth: Int) -> Outcome {
        var open = OpenContainers()
        var expecting = Expecting.value
        var i = start
        while true {
            while i < buffer.count, buffer[i] <= 0x20, buffer[i] == 0x20 || buffer[i] == 0x0A || buffer[i] == 0x0D || buffer[i] == 0x09 {
                i += 1
            }
            guard i < buffer.count else { return .failed("unexpected end inside \(open.innermostIsObject ? "an object" : "an array")", at: i) }
            let byte = buffer[i]
            var valueEnded = false
            switch expecting {
            case .value, .valueOrClose:
                switch byte {
                case UInt8(ascii: "]") where expecting == .valueOrClose:
                    open.pop()
                    i += 1
                    valueEnded = true
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    guard open.depth < maxDepth else { return .failed("nesting deeper than \(maxDepth)", at: i) }
                    let isObject = byte == UInt8(ascii: "{")
                    open.push(object: isObject)
                    expecting = isObject ? .keyOrClose : .valueOrClose
                    i += 1
                case UInt8(ascii: "\""):
                    switch stringEnd(buffer, from: i + 1) {
                    case .end(let end): i = end
                    case .failed(let message, let at): return .failed(message, at: at)
                    }
                    valueEnded = true
                case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
                    let word: StaticString = byte == UInt8(ascii: "t") ? "true" : byte == UInt8(ascii: "f") ? "false" : "null"
                    guard matches(word, buffer, at: i) else { return .failed("invalid literal", at: i) }
                    i += word.utf8CodeUnitCount
                    valueEnded = true
                case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    i = numberEnd(buffer, from: i)
                    valueEnded = true
                default:
                    return .failed("expected a JSON value", at: i)
                }
            case .key, .keyOrClose:
                if byte == UInt8(ascii: "}"), expecting == .keyOrClose {
                    open.pop()
                    i += 1
                    valueEnded = true
                } else if byte == UInt8(ascii: "\"") {
                    switch stringEnd(buffer, from: i + 1) {
                    case .end(let end): i = end
                    case .failed(let message, let at): return .failed(message, at: at)
                    }
                    expecting = .colon
                } else {
                    return .failed("expected an object key", at: i)
                }
            case .colon:
                guard byte == UInt8(ascii: ":") else { return .failed("expected ':' after an object key", at: i) }
                expecting = .value
                i += 1
            case .commaOrClose:
                let inObject = open.innermostIsObject
                if byte == UInt8(ascii: ",") {
                    expecting = inObject ? .key : .value
                    i += 1
                } else if byte == (inObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    open.pop()
                    i += 1
                    valueEnded = true
                } else {
                    return .failed(inObject ? "expected ',' or '}' in an object" : "expected ',' or ']' in an array", at: i)
                }
            }
            if valueEnded {
                if open.depth == 0 { return .end(i) }
                expecting = .commaOrClose
            }
        }
    }

    private static func matches(_ word: StaticString, _ buffer: UnsafeBufferPointer<UInt8>, at i: Int) -> Bool {
        let count = word.utf8CodeUnitCount
        guard i + count <= buffer.count else { return false }
        return word.withUTF8Buffer { expected in (0..<count).allSatisfy { buffer[i + $0] == expected[$0] } }
    }

    /// Which of the open containers are objects: one bit per level, in a word for the usual
    /// shallow nesting and spilling into an array only past 64 levels.
    private struct OpenContainers {
        private(set) var depth = 0
        private var low: UInt64 = 0
        private var deep: [Bool] = []

        var innermostIsObject: Bool {
            guard depth > 0 else { return false }
            return depth <= 64 ? low & (1 << UInt64(depth - 1)) != 0 : deep[depth - 65]
        }

        mutating func push(object: Bool) {
            if depth < 64 {
                if object { low |= 1 << UInt64(depth) } else { low &= ~(1 << UInt64(depth)) }
            } else {
                deep.append(object)
            }
            depth += 1
        }

        mutating func pop() {
            depth -= 1
            if depth >= 64 { deep.removeLast() }
        }
    }
}
