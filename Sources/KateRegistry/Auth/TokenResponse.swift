import Foundation

/// A token endpoint's JSON answer (distribution token spec): `token` and/or `access_token`,
/// `expires_in` seconds (60 when absent, the spec's minimum lifetime).
struct TokenResponse: Sendable, Equatable {
    static let defaultLifetime = 60

    let token: String
    let expiresIn: Int

    init(token: String, expiresIn: Int) {
        self.token = token
        self.expiresIn = expiresIn
    }

    /// - Returns: nil when the body is not JSON or carries no token.
    static func parse(_ body: [UInt8]) -> TokenResponse? {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else { return nil }
        // Some registries only set access_token (the OAuth2 name).
        let token = (object["token"] as? String).flatMap { $0.isEmpty ? nil : $0 } ?? (object["access_token"] as? String)
        guard let token, !token.isEmpty else { return nil }
        let lifetime = (object["expires_in"] as? NSNumber)?.intValue ?? defaultLifetime
        return TokenResponse(token: token, expiresIn: lifetime > 0 ? lifetime : defaultLifetime)
    }

    /// How long to reuse it: the lifetime minus a margin for clock skew and request time, so a
    /// token never expires between kate's check and the registry's.
    var cacheLifetime: Duration {
        let margin = min(10, max(1, expiresIn / 10))
        return .seconds(max(1, expiresIn - margin))
    }
}
