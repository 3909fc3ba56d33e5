/// Why a peer's HTTP/1.1 message was rejected.
///
/// `status` is what the server answers with (400, 408, 413, 431, 501, 505) and `reason` is one
/// line that goes into the response body, so whoever sent the request learns what to fix.
public struct HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public let status: Int
    public let reason: String

    public init(status: Int, reason: String) {
        self.status = status
        self.reason = reason
    }

    public var description: String { "\(status) \(HTTPStatus.reasonPhrase(status)): \(reason)" }

    static func badRequest(_ reason: String) -> HTTPParseError { HTTPParseError(status: 400, reason: reason) }
    static func headerTooLarge(limit: Int) -> HTTPParseError {
        HTTPParseError(status: 431, reason: "request header section exceeds \(limit) bytes")
    }
    static func bodyTooLarge(limit: Int) -> HTTPParseError {
        HTTPParseError(status: 413, reason: "request body exceeds \(limit) bytes")
    }
}

/// Status codes' reason phrases (RFC 9110 §15); only used for the status line and messages.
public enum HTTPStatus {
    public static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 415: "Unsupported Media Type"
        case 417: "Expectation Failed"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: "Status \(status)"
        }
    }
}
