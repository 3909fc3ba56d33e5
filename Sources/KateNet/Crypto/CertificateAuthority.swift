internal import COpenSSL

/// A small certificate authority for self-signed deployments (`kate webhook --self-signed`) and tests:
/// an ECDSA P-256 (or RSA-2048) CA that issues serving and client certificates.
///
/// The CA certificate has basicConstraints `CA:TRUE, pathlen:0` (critical), keyUsage keyCertSign+cRLSign,
/// and a subject key identifier. Issued certificates carry SANs (DNS and IP), the extended key usage for
/// their role, a random serial, and notBefore five minutes in the past (clock skew).
public struct CertificateAuthority: Sendable {
    public enum KeyType: Sendable, CustomStringConvertible {
        case ecdsaP256
        case rsa2048
        public var description: String { self == .ecdsaP256 ? "ECDSA P-256" : "RSA-2048" }
    }

    /// Extended key usage of an issued certificate: TLS server, TLS client (mutual TLS), or both.
    public enum Usage: Sendable { case server, client, both }

    public let certificatePEM: String
    public let privateKeyPEM: String
    private let certificate: X509Certificate
    private let key: PrivateKey

    /// Makes a new self-signed CA.
    public static func generate(
        commonName: String = "kate CA", validFor: Duration = .seconds(365 * 86400), keyType: KeyType = .ecdsaP256
    ) throws -> CertificateAuthority {
        let key = try X509Builder.generateKey(keyType)
        let builder = X509Builder(
            commonName: commonName, subjectKey: key, validFor: validFor,
            extensions: [
                (NID_basic_constraints, "critical,CA:TRUE,pathlen:0"),
                (NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature"),
                (NID_subject_key_identifier, "hash"),
                (NID_authority_key_identifier, "keyid:always"),
            ])
        let certificate = try builder.sign(issuer: nil, issuerKey: key)
        return try CertificateAuthority(certificate: certificate, key: key)
    }

    /// Loads an existing CA (to keep issuing from the same root across restarts).
    public init(certificatePEM: String, privateKeyPEM: String) throws {
        let certificate = try PEMMaterial(bytes: Array(certificatePEM.utf8), label: "CA certificate").certificates()[0]
        let key = try PEMMaterial(bytes: Array(privateKeyPEM.utf8), label: "CA private key").privateKey()
        try self.init(certificate: certificate, key: key)
    }

    private init(certificate: X509Certificate, key: PrivateKey) throws {
        guard let certificatePEM = certificate.pem, let privateKeyPEM = key.pem else {
            throw TLSConfigurationError.openSSL(.internalFailure, "cannot encode the CA as PEM")
        }
        self.certificate = certificate
        self.key = key
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
    }

    /// Issues a certificate signed by this CA.
    ///
    /// - Parameters:
    ///   - dnsNames: DNS SANs, e.g. `["kate.kate-system.svc"]` (what the API server verifies).
    ///   - ipAddresses: IP SANs, IPv4 or IPv6 literals.
    /// - Throws: `TLSConfigurationError` for an invalid name or address.
    public func issue(
        commonName: String, dnsNames: [String], ipAddresses: [String] = [], validFor: Duration = .seconds(30 * 86400),
        keyType: KeyType = .ecdsaP256, usage: Usage = .server
    ) throws -> IssuedCertificate {
        // The SAN list is handed to OpenSSL's config parser: refuse characters that would change its meaning.
        for name in dnsNames where name.isEmpty || name.contains(where: { ",: \t\n\r".contains($0) }) {
            throw TLSConfigurationError(.invalidArgument, "invalid DNS name \"\(name)\" for a certificate SAN")
        }
        for address in ipAddresses where !address.isNumericAddress || address.contains(",") {
            throw TLSConfigurationError(.invalidArgument, "invalid IP address \"\(address)\" for a certificate SAN")
        }
        let sans = dnsNames.map { "DNS:\($0)" } + ipAddresses.map { "IP:\($0)" }
        let extendedUsage = switch usage {
        case .server: "serverAuth"
        case .client: "clientAuth"
        case .both: "serverAuth,clientAuth"
        }
        let keyUsage = keyType == .rsa2048 ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature"
        var extensions: [(Int32, String)] = [
            (NID_basic_constraints, "critical,CA:FALSE"),
            (NID_key_usage, keyUsage),
            (NID_ext_key_usage, extendedUsage),
            (NID_subject_key_identifier, "hash"),
            (NID_authority_key_identifier, "keyid:always"),
        ]
        if !sans.isEmpty { extensions.append((NID_subject_alt_name, sans.joined(separator: ","))) }
        let key = try X509Builder.generateKey(keyType)
        let builder = X509Builder(commonName: commonName, subjectKey: key, validFor: validFor, extensions: extensions)
        let issued = try builder.sign(issuer: certificate, issuerKey: self.key)
        guard let certificatePEM = issued.pem, let privateKeyPEM = key.pem else {
            throw TLSConfigurationError.openSSL(.internalFailure, "cannot encode certificate \"\(commonName)\" as PEM")
        }
        return IssuedCertificate(certificatePEM: certificatePEM, privateKeyPEM: privateKeyPEM)
    }
}

/// A certificate issued by `CertificateAuthority`, with its private key, both PEM.
public struct IssuedCertificate: Sendable {
    public let certificatePEM: String
    public let privateKeyPEM: String
}
