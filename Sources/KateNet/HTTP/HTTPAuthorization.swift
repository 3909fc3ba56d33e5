/// `Authorization` (and `Proxy-Authorization`) header values, built in one place.
public enum HTTPAuthorization {
    /// `Basic base64(user:password)` (RFC 7617).
    public static func basic(user: String, password: String) -> String {
        basic(credentials: "\(user):\(password)")
    }

    /// `Basic base64(credentials)` for credentials already joined as `user:password`, as a URL's
    /// userinfo carries them (a proxy URL's `user:pass@`).
    public static func basic(credentials: String) -> String {
        "Basic " + Base64.encode(credentials)
    }
}
