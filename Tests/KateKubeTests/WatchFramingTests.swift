import Testing
@testable import KateKube

/// The watch body's framing is lines; how TCP and TLS cut the bytes must not matter.
@Suite("Watch line framing")
struct WatchFramingTests {
    @Test("lines split at every possible byte boundary come out whole, blank lines skipped")
    func everySplit() {
        let text = Array("{\"type\":\"ADDED\"}\n\n{\"type\":\"BOOKMARK\"}\r\n{\"type\":\"DELETED\"}\n{\"partial".utf8)
        for cut in 0...text.count {
            var splitter = LineSplitter()
            var lines: [String] = []
            splitter.append(Array(text[..<cut]))
            while let line = splitter.next() { lines.append(String(decoding: line, as: UTF8.self)) }
            splitter.append(Array(text[cut...]))
            while let line = splitter.next() { lines.append(String(decoding: line, as: UTF8.self)) }
            #expect(lines == ["{\"type\":\"ADDED\"}", "{\"type\":\"BOOKMARK\"}\r", "{\"type\":\"DELETED\"}"], "cut at \(cut)")
        }
    }
}
