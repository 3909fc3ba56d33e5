#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Writes HTTP/1.1 messages to bytes.
public enum HTTPSerializer {
    /// Header names the server sets itself; a responder's own values for these are dropped so
    /// the framing on the wire is always the one the server computed.
    private static let serverOwned: Set<String> = ["content-length", "transfer-encoding", "connection", "date", "server", "keep-alive"]

    /// A response head and body. `Content-Length`, `Date`, `Server: kate` and, when needed,
    /// `Connection` are added here. `headOnly` (a HEAD request) keeps Content-Length but sends no body.
    public static func response(
        _ response: HTTPResponse,
        version: HTTPVersion = .http1_1,
        keepAlive: Bool,
        headOnly: Bool = false
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(160 + response.body.count)
        let status = (100...999).contains(response.status) ? response.status : 500
        appendASCII(&out, "HTTP/1.1 \(status) \(HTTPStatus.reasonPhrase(status))\r\nServer: kate\r\nDate: ")
        appendASCII(&out, HTTPDate.now())
        let bodyless = status < 200 || status == 204 || status == 304
        if !bodyless, response.streamingBody != nil {
            // HTTP/1.0 has no chunked coding: there the end of the connection ends the body.
            if version.minor >= 1 { appendASCII(&out, "\r\nTransfer-Encoding: chunked") }
        } else if !bodyless {
            appendASCII(&out, "\r\nContent-Length: \(response.body.count)")
        }
        if !keepAlive || (response.streamingBody != nil && version.minor == 0) {
            appendASCII(&out, "\r\nConnection: close")
        } else if version.minor == 0 {
            appendASCII(&out, "\r\nConnection: keep-alive")
        }
        for (name, value) in response.headers where !serverOwned.contains(name.lowercased()) {
            appendField(&out, name, value)
        }
        appendASCII(&out, "\r\n\r\n")
        if !bodyless, !headOnly { out.append(contentsOf: response.body) }
        return out
    }

    /// An interim `100 Continue`.
    public static let continueResponse: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    /// A client request. `target` is origin-form (`/v2/…`) or, through an HTTP proxy, absolute-form.
    static func request(method: String, target: String, host: String, headers: HTTPHeaders, body: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256 + body.count)
        appendASCII(&out, "\(method) \(target) HTTP/1.1")
        if !headers.contains("Host") { appendField(&out, "Host", host) }
        for (name, value) in headers where !["content-length", "transfer-encoding"].contains(name.lowercased()) {
            appendField(&out, name, value)
        }
        if !body.isEmpty || ["POST", "PUT", "PATCH"].contains(method) {
            appendField(&out, "Content-Length", String(body.count))
        }
        appendASCII(&out, "\r\n\r\n")
        out.append(contentsOf: body)
        return out
    }

    private static func appendASCII(_ out: inout [UInt8], _ s: String) {
        out.append(contentsOf: s.utf8)
    }

    /// CR and LF in a value would split the header section (response splitting); they become spaces.
    private static func appendField(_ out: inout [UInt8], _ name: String, _ value: String) {
        out.append(contentsOf: "\r\n".utf8)
        out.append(contentsOf: name.utf8.filter { HTTPBytes.isToken($0) })
        out.append(contentsOf: ": ".utf8)
        for b in value.utf8 { out.append(b == 0x0D || b == 0x0A || b == 0 ? 0x20 : b) }
    }
}

/// The `Date` header value (IMF-fixdate, RFC 9110 §5.6.7), formatted once per second.
enum HTTPDate {
    private static let cache = Mutex<(second: Int, text: String)>((-1, ""))
    /// Also what `secondsSince1970(_:)` (HTTPDate+Parsing.swift) accepts.
    static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func now() -> String {
        var seconds = time(nil)
        let key = Int(seconds)
        if let hit = cache.withLock({ $0.second == key ? $0.text : nil }) { return hit }
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let text = "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
        cache.withLock { $0 = (key, text) }
        return text
    }
}
