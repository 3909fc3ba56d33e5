internal import COpenSSL

/// SHA-256 through OpenSSL's EVP interface (content digests, `sha256:<hex>` image references).
public enum SHA256 {
    /// The 32-byte digest of `bytes`.
    public static func hash(_ bytes: some Collection<UInt8>) -> [UInt8] {
        let digest: [UInt8]? = bytes.withContiguousStorageIfAvailable { digestOf($0) }
        return digest ?? digestOf(Array(bytes))
    }

    /// The lowercase hex digest of `bytes` (64 characters).
    public static func hex(_ bytes: some Collection<UInt8>) -> String {
        Hex.lowercase(hash(bytes))
    }

    private static func digestOf(_ buffer: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        // EVP_Digest with SHA-256 cannot fail short of memory exhaustion; the check keeps that loud.
        let ok = EVP_Digest(buffer.baseAddress, buffer.count, &digest, &length, EVP_sha256(), nil)
        precondition(ok == 1 && length == 32, "EVP_Digest(SHA-256) failed")
        return digest
    }

    private static func digestOf(_ array: [UInt8]) -> [UInt8] {
        array.withUnsafeBufferPointer { digestOf($0) }
    }
}
