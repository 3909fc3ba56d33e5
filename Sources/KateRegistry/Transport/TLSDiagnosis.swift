/// Reading OpenSSL's handshake errors for what a user should change.
enum TLSDiagnosis {
    /// True when the handshake failed because the server answered the ClientHello in plain HTTP:
    /// OpenSSL reads "HTTP/1.1 400" as a TLS record with version 0x5454 ("wrong version number"),
    /// or as an oversized record ("packet length too long") when the bytes fall differently.
    static func serverSpeaksPlainHTTP(_ message: String) -> Bool {
        message.contains("wrong version number") || message.contains("packet length too long")
    }
}
