import Foundation
import Testing
@testable import KateNet

@Suite("Crypto: SHA-256 and the certificate authority")
struct CryptoTests {
    @Test("SHA-256 matches the FIPS 180-2 test vectors", arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func sha256Vectors(input: String, expected: String) {
        #expect(SHA256.hex(Array(input.utf8)) == expected)
        #expect(SHA256.hash(Array(input.utf8)[...]).count == 32)
    }

    @Test("an ECDSA or RSA serving certificate verifies with openssl for its DNS name and IP, as sslserver",
          arguments: [CertificateAuthority.KeyType.ecdsaP256, .rsa2048])
    func servingCertificateVerifies(keyType: CertificateAuthority.KeyType) async throws {
        let authority = try CertificateAuthority.generate(commonName: "kate test root")
        let leaf = try authority.issue(
            commonName: "kate.kate-system.svc", dnsNames: ["kate.kate-system.svc", "kate"], ipAddresses: ["127.0.0.1", "::1"], keyType: keyType)
        let directory = try NetIOTemporaryDirectory()
        defer { directory.remove() }
        let ca = try directory.write("ca.pem", authority.certificatePEM)
        let cert = try directory.write("leaf.pem", leaf.certificatePEM)
        let ok = try await runOpenSSL(["verify", "-CAfile", ca, "-verify_hostname", "kate.kate-system.svc", "-purpose", "sslserver", cert])
        #expect(ok.status == 0 && ok.output.contains("OK"), "\(ok.output)")
        let ip = try await runOpenSSL(["verify", "-CAfile", ca, "-verify_ip", "::1", "-purpose", "sslserver", cert])
        #expect(ip.status == 0, "\(ip.output)")
        let wrongName = try await runOpenSSL(["verify", "-CAfile", ca, "-verify_hostname", "other.svc", cert])
        #expect(wrongName.status != 0, "\(wrongName.output)")
        let asClient = try await runOpenSSL(["verify", "-CAfile", ca, "-purpose", "sslclient", cert])
        #expect(asClient.status != 0, "a server-only certificate must not pass as a client certificate")
    }

    @Test("the CA and leaf carry the expected v3 extensions")
    func extensions() async throws {
        let authority = try CertificateAuthority.generate()
        let leaf = try authority.issue(commonName: "both", dnsNames: ["a.example"], usage: .both)
        let directory = try NetIOTemporaryDirectory()
        defer { directory.remove() }
        let ca = try directory.write("ca.pem", authority.certificatePEM)
        let cert = try directory.write("leaf.pem", leaf.certificatePEM)
        let caText = try await runOpenSSL(["x509", "-in", ca, "-noout", "-text"]).output
        #expect(caText.contains("CA:TRUE, pathlen:0"))
        #expect(caText.contains("Certificate Sign, CRL Sign"))
        #expect(caText.contains("Subject Key Identifier"))
        #expect(caText.contains("ASN1 OID: prime256v1"))
        let leafText = try await runOpenSSL(["x509", "-in", cert, "-noout", "-text"]).output
        #expect(leafText.contains("CA:FALSE"))
        #expect(leafText.contains("TLS Web Server Authentication, TLS Web Client Authentication"))
        #expect(leafText.contains("DNS:a.example"))
        #expect(leafText.contains("Authority Key Identifier"))
        let client = try await runOpenSSL(["verify", "-CAfile", ca, "-purpose", "sslclient", cert])
        #expect(client.status == 0, "\(client.output)")
    }

    @Test("serial numbers are random and notBefore allows for clock skew")
    func serialAndValidity() async throws {
        let authority = try CertificateAuthority.generate()
        let directory = try NetIOTemporaryDirectory()
        defer { directory.remove() }
        var serials: Set<String> = []
        for index in 0..<3 {
            let leaf = try authority.issue(commonName: "n\(index)", dnsNames: ["n\(index)"])
            let file = try directory.write("leaf\(index).pem", leaf.certificatePEM)
            serials.insert(try await runOpenSSL(["x509", "-in", file, "-noout", "-serial"]).output)
        }
        #expect(serials.count == 3)
        let file = try directory.write("ca.pem", authority.certificatePEM)
        // Valid now, and already valid four minutes ago (notBefore = now - 5 min).
        let now = try await runOpenSSL(["x509", "-in", file, "-noout", "-checkend", "0"])
        #expect(now.status == 0, "\(now.output)")
        let startText = try await runOpenSSL(["x509", "-in", file, "-noout", "-startdate"]).output
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "MMM d HH:mm:ss yyyy zzz"
        let raw = startText.replacingOccurrences(of: "notBefore=", with: "").trimmingCharacters(in: .whitespacesAndNewlines)
            .replacingOccurrences(of: "  ", with: " ")
        let start = try #require(formatter.date(from: raw), "\(startText)")
        #expect(start < Date().addingTimeInterval(-240))
    }

    @Test("a CA reloaded from its PEM keeps issuing certificates that chain to it")
    func reloadedAuthority() async throws {
        let original = try CertificateAuthority.generate()
        let reloaded = try CertificateAuthority(certificatePEM: original.certificatePEM, privateKeyPEM: original.privateKeyPEM)
        let leaf = try reloaded.issue(commonName: "x", dnsNames: ["x.example"])
        let directory = try NetIOTemporaryDirectory()
        defer { directory.remove() }
        let result = try await runOpenSSL([
            "verify", "-CAfile", try directory.write("ca.pem", original.certificatePEM), try directory.write("leaf.pem", leaf.certificatePEM),
        ])
        #expect(result.status == 0, "\(result.output)")
    }

    @Test("names that would inject into the SAN list are rejected", arguments: ["a.example,IP:10.0.0.1", "", "has space", "x:y"])
    func invalidNames(name: String) throws {
        let authority = try CertificateAuthority.generate()
        #expect(throws: TLSConfigurationError.self) { _ = try authority.issue(commonName: "x", dnsNames: [name]) }
    }

    @Test("invalid IP SANs are rejected")
    func invalidIP() throws {
        let authority = try CertificateAuthority.generate()
        #expect(throws: TLSConfigurationError.self) { _ = try authority.issue(commonName: "x", dnsNames: [], ipAddresses: ["300.1.1.1"]) }
    }
}
