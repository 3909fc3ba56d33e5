import Foundation
import KateNet
import Testing

/// KateNet's base64 decoder against Foundation's (which kate did not write) on the same inputs.
@Suite("Base64 decoding")
struct Base64DecodingTests {
    @Test("round trips and agrees with Foundation on every length 0…300")
    func agreesWithFoundation() {
        var generator = SystemRandomNumberGenerator()
        for length in 0...300 {
            let bytes = (0..<length).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            let encoded = Data(bytes).base64EncodedString()
            #expect(Base64.encode(bytes) == encoded)
            #expect(Base64.decode(encoded) == bytes, "length \(length)")
        }
    }

    @Test("rejects what Foundation rejects", arguments: ["a", "abc", "=abc", "ab c", "ab\ncd", "a===", "ab-_", "YQ==YQ=="])
    func rejects(_ text: String) {
        #expect(Data(base64Encoded: text) == nil, "Foundation accepts \(text.debugDescription)")
        #expect(Base64.decode(text) == nil, "\(text.debugDescription)")
    }

    /// swift-corelibs-foundation decodes these (padding inside, a lone fifth character); RFC 4648 does not allow
    /// them, and neither does Go's `encoding/base64`, which writes what kate reads.
    @Test("stricter than Foundation where RFC 4648 is", arguments: ["ab=c", "abcd="])
    func stricter(_ text: String) {
        #expect(Base64.decode(text) == nil, "\(text.debugDescription)")
    }

    @Test("text")
    func text() {
        #expect(Base64.decodeUTF8("dXNlcjpzM2NyOmV0") == "user:s3cr:et")
        #expect(Base64.decodeUTF8("/w==") == nil, "0xFF is not UTF-8")
    }
}
