internal import COpenSSL

/// HMAC-SHA256 through OpenSSL's one-shot `HMAC()` (webhook signatures: GitHub's
/// `X-Hub-Signature-256: sha256=<hex>` is this over the raw request body).
public enum HMACSHA256 {
    /// The 32-byte authentication code of `message` under `key`.
    public static func authenticationCode(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var code = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        // Callers refuse empty secrets (an empty key would also read as "reuse the last key" to OpenSSL);
        // HMAC() takes the key length as an Int32.
        precondition(!key.isEmpty && key.count < Int(Int32.max), "HMAC key must be 1 byte to 2 GiB")
        let result = key.withUnsafeBufferPointer { keyBuffer in
            message.withUnsafeBufferPointer { messageBuffer in
                HMAC(EVP_sha256(), keyBuffer.baseAddress, Int32(key.count), messageBuffer.baseAddress, messageBuffer.count, &code, &length)
            }
        }
        // Like EVP_Digest, HMAC-SHA256 fails only when memory runs out; keep that loud.
        precondition(result != nil && length == 32, "HMAC(SHA-256) failed")
        return code
    }

    /// The lowercase hex of the authentication code (64 characters), as webhook signature headers carry it.
    public static func hex(key: [UInt8], message: [UInt8]) -> String {
        Hex.lowercase(authenticationCode(key: key, message: message))
    }

    /// True when `signatureHex` (any case) is the authentication code of `message` under `key`,
    /// compared in constant time: a compare that stops at the first difference tells an attacker
    /// how many leading characters of a forged signature were right.
    public static func isValid(signatureHex: String, key: [UInt8], message: [UInt8]) -> Bool {
        ConstantTime.equal(Array(hex(key: key, message: message).utf8), Array(signatureHex.lowercased().utf8))
    }
}

/// Comparisons whose duration does not depend on where the inputs differ (secrets, signatures).
public enum ConstantTime {
    /// True when `a` and `b` hold the same bytes. Lengths are compared first (a length is not a secret
    /// worth hiding for a token or a fixed-size MAC); equal-length contents with OpenSSL's `CRYPTO_memcmp`.
    public static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBytes { left in
            b.withUnsafeBytes { right in CRYPTO_memcmp(left.baseAddress, right.baseAddress, a.count) == 0 }
        }
    }
}

/// Lowercase hexadecimal text of bytes (digests, MACs).
public enum Hex {
    public static func lowercase(_ bytes: some Collection<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
