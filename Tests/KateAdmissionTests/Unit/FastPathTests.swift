import Foundation
import KateNet
import RegistryTestSupport
import Testing

@testable import KateAdmission

/// The byte-level helpers of the cached admission path (JSON scanning, base64, timestamps) are
/// checked against Foundation's implementations on generated input, so being fast never means
/// answering differently.
@Suite("Admission fast path")
struct FastPathTests {
    @Test("stringStop finds the first quote, backslash or control byte at every alignment")
    func stringStopAgreesWithByteLoop() {
        var random = SplitMix64(seed: 1)
        let alphabet: [UInt8] = Array("abcXYZ019-_.:/ ".utf8) + [0x22, 0x5C, 0x00, 0x1F, 0x20, 0x7F, 0x80, 0xC3, 0xFF]
        for _ in 0..<3000 {
            let length = Int.random(in: 0...40, using: &random)
            // Mostly plain bytes, so stops land at every offset within the 8-byte words.
            let bytes: [UInt8] = (0..<length).map { _ in
                Int.random(in: 0..<10, using: &random) == 0 ? alphabet.randomElement(using: &random)! : UInt8(ascii: "q")
            }
            let start = Int.random(in: 0...length, using: &random)
            let expected = bytes[start...].firstIndex { $0 == 0x22 || $0 == 0x5C || $0 < 0x20 } ?? length
            let found = bytes.withUnsafeBufferPointer { JSONScan.stringStop($0, from: start) }
            #expect(found == expected, "bytes \(bytes) from \(start)")
        }
    }

    @Test("skipping accepts exactly the JSON Foundation accepts (generated documents, structural damage)")
    func containerSkipAgreesWithFoundation() throws {
        var random = SplitMix64(seed: 7)
        var accepted = 0, rejected = 0
        for _ in 0..<1500 {
            var document = Array(Self.randomValue(depth: 0, container: true, using: &random).utf8)
            // Damage it: delete, duplicate or insert structural characters.
            for _ in 0..<Int.random(in: 0...2, using: &random) {
                let structural = Array("{}[],:\"".utf8)
                let at = Int.random(in: 0..<document.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: document.remove(at: at)
                case 1: document.insert(document[at], at: at)
                default: document.insert(structural.randomElement(using: &random)!, at: at)
                }
            }
            // swift-corelibs-foundation accepts a trailing comma (`[4,]`), which JSON, Go and kate
            // do not; otherwise it is the reference.
            let foundation = (try? JSONSerialization.jsonObject(with: Data(document), options: [.fragmentsAllowed])) != nil
                && !Self.hasTrailingComma(document)
            var ours = false
            if let first = document.first, first == UInt8(ascii: "{") || first == UInt8(ascii: "[") {
                let outcome = document.withUnsafeBufferPointer { JSONScan.containerEnd($0, from: 0, maxDepth: 200) }
                ours = outcome == .end(document.count)
            } else {
                var reader = JSONReader(document)
                ours = (try? reader.skipValue()) != nil && (try? reader.expectEnd()) != nil
            }
            #expect(ours == foundation, "\(String(decoding: document, as: UTF8.self))")
            if foundation { accepted += 1 } else { rejected += 1 }
        }
        // Both kinds were exercised.
        #expect(accepted > 200 && rejected > 200)
    }

    /// A `,` followed by `]` or `}` outside strings.
    static func hasTrailingComma(_ bytes: [UInt8]) -> Bool {
        var inString = false, escaped = false, lastSignificant: UInt8 = 0
        for byte in bytes {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            if byte == UInt8(ascii: "\"") { inString = true; lastSignificant = byte; continue }
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") { continue }
            if (byte == UInt8(ascii: "]") || byte == UInt8(ascii: "}")) && lastSignificant == UInt8(ascii: ",") { return true }
            lastSignificant = byte
        }
        return false
    }

    /// Objects, arrays, strings with escapes, literals and positive integers without zeros (the
    /// reader does not check number grammar, so numbers that merging could make invalid for
    /// Foundation, like `01` or `-1-2`, are not generated).
    static func randomValue(depth: Int, container: Bool = false, using random: inout SplitMix64) -> String {
        let kind = container ? Int.random(in: 0...1, using: &random) : Int.random(in: 0...(depth > 4 ? 4 : 6), using: &random)
        switch kind {
        case 0:
            let members = (0..<Int.random(in: 0...4, using: &random)).map { _ in
                randomString(using: &random) + ":" + randomValue(depth: depth + 1, using: &random)
            }
            return "{" + members.joined(separator: ",") + "}"
        case 1:
            return "[" + (0..<Int.random(in: 0...4, using: &random)).map { _ in randomValue(depth: depth + 1, using: &random) }.joined(separator: ",") + "]"
        case 2: return randomString(using: &random)
        case 3: return ["true", "false", "null"].randomElement(using: &random)!
        default: return String(Int.random(in: 1...9, using: &random)) + String(repeating: "7", count: Int.random(in: 0...3, using: &random))
        }
    }

    static func randomString(using random: inout SplitMix64) -> String {
        // ASCII only: damage inside a multi-byte character makes invalid UTF-8, which Foundation
        // refuses and kate (like Go's decoder) reads with U+FFFD.
        let pieces = ["a", "name", "image", "kate.dev/x", #"\""#, #"\\"#, #"\/"#, #"\n"#, #"\u00e9"#, " ", "f:spec"]
        return "\"" + (0..<Int.random(in: 0...5, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined() + "\""
    }

    @Test("escapes, control characters and nesting are checked while skipping", arguments: [
        (#"["\x"]"#, false), (#"["\u12G4"]"#, false), (#"["\u12"]"#, false), ("[\"a\u{01}b\"]", false),
        (#"["\u00e9\n\t\/"]"#, true), (#"{"a":[1,{"b":null}],"c":true}"#, true), (#"{"a" 1}"#, false), (#"[1,]"#, false),
        (#"{"a":1,}"#, false), (#"[tru]"#, false), (#"{"a":1}}"#, false), ("[  1 ,\n\t2\r]", true),
    ])
    func skipChecks(text: String, valid: Bool) {
        var reader = JSONReader(Array(text.utf8))
        let ok = (try? reader.skipValue()) != nil && (try? reader.expectEnd()) != nil
        #expect(ok == valid)
    }

    @Test("nesting is bounded without recursion: 200 levels skip, 201 are refused")
    func nestingBound() {
        for (depth, valid) in [(200, true), (201, false), (100_000, false)] {
            var reader = JSONReader(Array((String(repeating: "[", count: depth) + String(repeating: "]", count: depth)).utf8))
            #expect(((try? reader.skipValue()) != nil) == valid, "depth \(depth)")
        }
    }

    @Test("base64 matches Foundation for every length and byte")
    func base64() {
        var random = SplitMix64(seed: 3)
        for length in 0..<200 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            #expect(Base64.encode(bytes) == Data(bytes).base64EncodedString())
        }
    }

    @Test("resolved-at timestamps match Foundation's ISO 8601 form")
    func timestamps() {
        var random = SplitMix64(seed: 11)
        let fixed: [Double] = [0, -1, 86_399, 86_400, 951_782_400 /* 2000-02-29 */, 4_107_542_400 /* 2100-02-28 */,
                               4_107_628_800, 1_795_000_000.999, -2_208_988_800 /* 1900-01-01 */]
        let generated = (0..<3000).map { _ in Double(Int64.random(in: -2_208_988_800...13_569_465_600, using: &random)) + 0.5 }
        for seconds in fixed + generated {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(UTCTimestamp.string(from: date) == date.formatted(.iso8601), "\(seconds)")
        }
    }
}
