#if os(macOS) || os(Linux)
// README-PAGA-EXAMPLE-BEGIN
import Foundation
import PesaKit

/// Step 1, the "Connect with Paga" button: where to send the user. Keep the authorization
/// (its state, and with PKCE its verifier) in the user's session until they come back.
func startPagaConnect(client: PagaClient) -> PagaAuthorization {
    client.authorizationUrl(scopes: ["MERCHANT_PAYMENT", "USER_DETAILS_REQUEST"], userData: ["FIRST_NAME"])
}

/// Step 2, your redirect URI: Paga sent the user back. Exchange the code (tokens go to your
/// TokenStore under `user`), then act for them by that key: read their details, charge them.
func finishPagaConnect(
    client: PagaClient, callback: URL, authorization: PagaAuthorization, user: String
) async throws -> PagaPaymentResult {
    do {
        let grant = try await client.handleCallback(callback, authorization: authorization, user: user)
        print("granted \(grant.scopes) until \(grant.expiresAt)")
    } catch let error as PesakitError where error.gatewayCode == "access_denied" {
        print("the user declined")
        throw error
    }
    let details = try await client.userDetails(user: user)
    print("hello \(details.firstName ?? "?")")
    // Keep the reference: a payment is not retried once it may have arrived.
    return try await client.merchantPayment(
        user: user, referenceNumber: newPagaReferenceNumber(), amount: Decimal(string: "1500.00")!,
        customerReference: "customer-42")
}
// README-PAGA-EXAMPLE-END

import Foundation
import PesaKit
import XCTest

/// Paga Connect through Swift concurrency, against the emulator's `/paga` over real HTTP:
/// the browser's hop done with a `URLSession` that does not follow redirects, then
/// `handleCallback`, the operations, refusals, both token request styles, PKCE, refresh and
/// the error mapping, with the user's tokens kept in a Swift `TokenStore`.
final class PagaTests: XCTestCase {
    private var sandbox: SandboxProcess!

    override func setUpWithError() throws {
        sandbox = try SandboxProcess()
    }

    override func tearDown() {
        sandbox?.stop()
        sandbox = nil
    }

    private static let allScopes = ["MERCHANT_PAYMENT", "MONEY_TRANSFER", "USER_DETAILS_REQUEST"]
    private let posix = Locale(identifier: "en_US_POSIX")

    private func decimal(_ text: String) -> Decimal {
        Decimal(string: text, locale: posix)!
    }

    /// The `PesakitError` an async call throws. When it succeeds the test fails and stops;
    /// another error propagates.
    private func failure<T>(
        _ call: () async throws -> T, file: StaticString = #filePath, line: UInt = #line
    ) async throws -> PesakitError {
        let result: T
        do {
            result = try await call()
        } catch let error as PesakitError {
            return error
        }
        XCTFail("the call succeeded: \(result)", file: file, line: line)
        throw SandboxError(description: "the call succeeded")
    }

    /// Sends `user` through Paga (the emulator answers at once) and hands their return to
    /// the client: the grant.
    @discardableResult
    private func connect(
        _ client: PagaClient, user: String, scopes: [String] = PagaTests.allScopes, userData: [String] = []
    ) async throws -> PagaGrant {
        let authorization = client.authorizationUrl(scopes: scopes, userData: userData)
        let location = try await sandbox.pagaRedirect(for: authorization.url())
        return try await client.handleCallback(
            try XCTUnwrap(URL(string: location)), authorization: authorization, user: user)
    }

    private func tokenRequests() async throws -> [JSON] {
        try await sandbox.pagaRequests(method: "POST", path: "/paga-webservices/oauth2/token")
    }

    /// A token request's parameters, from its form body or its query string.
    private func parameters(_ request: JSON) -> [String: String] {
        var all: [String: String] = [:]
        for text in [request["query"]?.stringValue, request["body"]?.stringValue].compactMap({ $0 }) {
            for pair in text.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                let decode = { (s: String) in
                    s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? s
                }
                if parts.count == 2, all[decode(parts[0])] == nil {
                    all[decode(parts[0])] = decode(parts[1])
                }
            }
        }
        return all
    }

    // MARK: The whole flow

    func testConnectThenOperateWithTokensInASwiftStore() async throws {
        let store = SerializingTokenStore()
        let client = try sandbox.pagaClient(tokenStore: store)
        XCTAssertEqual(client.baseUrl(), sandbox.pagaBaseURL)

        let authorization = client.authorizationUrl(
            scopes: Self.allScopes, userData: ["FIRST_NAME", "ACCOUNT_BALANCE"])
        let url = authorization.url()
        XCTAssertTrue(url.hasPrefix(sandbox.pagaBaseURL + "/paga-webservices/oauth2/authorization?"), url)
        XCTAssertTrue(url.contains("client_id=\(SandboxProcess.pagaClientID)"), url)
        XCTAssertTrue(url.contains("response_type=code"), url)
        XCTAssertFalse(authorization.state().isEmpty)
        XCTAssertTrue(url.contains(authorization.state()), url)
        XCTAssertNil(authorization.pkceVerifier())
        XCTAssertFalse(url.contains("code_challenge"), url)

        let location = try await sandbox.pagaRedirect(for: url)
        XCTAssertTrue(location.hasPrefix(SandboxProcess.pagaRedirectURI + "?"), location)
        XCTAssertTrue(location.contains("code="), location)

        let grant = try await client.handleCallback(
            try XCTUnwrap(URL(string: location)), authorization: authorization, user: "alice")
        XCTAssertEqual(grant.scopes, Self.allScopes)
        XCTAssertEqual(grant.userData, ["FIRST_NAME", "ACCOUNT_BALANCE"])
        XCTAssertGreaterThan(grant.expiresAt, Date())
        XCTAssertNotNil(grant.extra["authorities"], grant.extraJson)
        XCTAssertNil(grant.extra["access_token"], "the grant must not carry the tokens")

        // The code went out once, with HTTP Basic client authentication, in a form body.
        let exchanges = try await tokenRequests()
        XCTAssertEqual(exchanges.count, 1)
        let exchange = try XCTUnwrap(exchanges.first)
        XCTAssertTrue(exchange["headers"]?["authorization"]?.stringValue?.hasPrefix("Basic ") ?? false)
        XCTAssertEqual(parameters(exchange)["grant_type"], "authorization_code")
        XCTAssertFalse(exchange["body"]?.stringValue?.isEmpty ?? true, "form body style sends a body")

        // The tokens are in the Swift store, under paga|{base url}|{client id}|{user}.
        XCTAssertEqual(store.keys, ["paga|\(sandbox.pagaBaseURL)|\(SandboxProcess.pagaClientID)|alice"])

        let details = try await client.userDetails(user: "alice")
        XCTAssertEqual(details.firstName, "Ada")
        XCTAssertEqual(details.username, "adaobi")
        XCTAssertEqual(details.accountStatus, "ACTIVE")
        XCTAssertEqual(details.accountBalance, decimal("50000"))
        XCTAssertEqual(details.raw["publicId"] as? String, details.publicId)

        let reference = newPagaReferenceNumber()
        XCTAssertEqual(reference.count, 32)
        XCTAssertTrue(reference.allSatisfy(\.isHexDigit), reference)
        XCTAssertNotEqual(reference, newPagaReferenceNumber())

        let payment = try await client.merchantPayment(
            user: "alice", referenceNumber: reference, amount: decimal("1000"), customerReference: "customer-42")
        XCTAssertNotNil(payment.transactionId)
        XCTAssertNotNil(payment.confirmationCode)
        XCTAssertEqual(payment.amount, decimal("1000"))
        XCTAssertEqual(payment.fee, 0)
        XCTAssertEqual(payment.currency, "NGN")
        XCTAssertNotNil(payment.raw["transactionId"])

        // The blocking twin, on a thread of its own.
        let after = try await onBackgroundThread { try client.userDetailsBlocking(user: "alice") }
        XCTAssertEqual(after.accountBalance, decimal("49000"))

        let transfer = try await client.moneyTransfer(
            user: "alice", referenceNumber: newPagaReferenceNumber(), amount: decimal("250.50"),
            recipient: SandboxProcess.pagaRecipientPhone, skipMessaging: true)
        XCTAssertNotNil(transfer.transactionId)
        XCTAssertNil(transfer.confirmationCode)
        XCTAssertEqual(transfer.amount, decimal("250.5"))

        let token = try await client.oneTimeToken(for: "alice", referenceNumber: "otp-1")
        XCTAssertEqual((token["oneTimeToken"] as? String)?.count, 32)

        // The generated request records work as well as the conveniences.
        let again = try await client.merchantPayment(user: "alice", request: PagaMerchantPaymentRequest(
            referenceNumber: newPagaReferenceNumber(), amount: decimal("1.25"), customerReference: "customer-42",
            currency: "NGN"))
        XCTAssertEqual(again.amount, decimal("1.25"))

        // Another client over the same store acts for alice without her coming back.
        let restarted = try sandbox.pagaClient(tokenStore: store)
        let restored = try await restarted.userDetails(user: "alice")
        XCTAssertEqual(restored.username, "adaobi")

        try restarted.forgetUser(user: "alice")
        XCTAssertEqual(store.keys, [])
        let forgotten = try await failure { try await restarted.userDetails(user: "alice") }
        XCTAssertEqual(forgotten.kind, .authentication)
        XCTAssertTrue(forgotten.summary.contains("send the user to Paga again"), forgotten.summary)
    }

    func testTheReadmeExampleRunsAgainstTheEmulator() async throws {
        let client = try sandbox.pagaClient(tokenStore: MemoryTokenStore())
        let authorization = startPagaConnect(client: client)
        let location = try await sandbox.pagaRedirect(for: authorization.url())
        let payment = try await finishPagaConnect(
            client: client, callback: try XCTUnwrap(URL(string: location)), authorization: authorization,
            user: "alice")
        XCTAssertEqual(payment.amount, decimal("1500"))

        let declined = startPagaConnect(client: client)
        let refusal = try await sandbox.pagaRedirect(for: declined.url(), sandboxUser: SandboxProcess.pagaDenyingUser)
        let error = try await failure {
            try await finishPagaConnect(
                client: client, callback: try XCTUnwrap(URL(string: refusal)), authorization: declined, user: "bob")
        }
        XCTAssertEqual(error.gatewayCode, "access_denied")
    }

    // MARK: Refusals

    func testForgedStateIsRefusedBeforeAnyTokenRequest() async throws {
        let client = try sandbox.pagaClient(tokenStore: MemoryTokenStore())
        let sent = client.authorizationUrl(scopes: Self.allScopes)
        let location = try await sandbox.pagaRedirect(for: sent.url())
        // The callback checked against another authorization (another session's state).
        let other = client.authorizationUrl(scopes: Self.allScopes)
        XCTAssertNotEqual(other.state(), sent.state())
        let error = try await failure {
            try await client.handleCallback(callbackUrl: location, authorization: other, user: "alice")
        }
        guard case .Authentication = error else { return XCTFail("not Authentication: \(error)") }
        XCTAssertTrue(error.summary.contains("state does not match"), error.summary)
        let exchanges = try await tokenRequests()
        XCTAssertEqual(exchanges.count, 0)
    }

    func testAccessDeniedIsAnAuthenticationErrorWithItsCode() async throws {
        let client = try sandbox.pagaClient(tokenStore: MemoryTokenStore())
        let authorization = client.authorizationUrl(scopes: Self.allScopes)
        let location = try await sandbox.pagaRedirect(
            for: authorization.url(), sandboxUser: SandboxProcess.pagaDenyingUser)
        XCTAssertTrue(location.contains("error=access_denied"), location)
        let error = try await failure {
            try await client.handleCallback(
                try XCTUnwrap(URL(string: location)), authorization: authorization, user: "bob")
        }
        guard case .Authentication = error else { return XCTFail("not Authentication: \(error)") }
        XCTAssertEqual(error.gatewayCode, "access_denied")
        let exchanges = try await tokenRequests()
        XCTAssertEqual(exchanges.count, 0)
    }

    // MARK: Token request styles and PKCE

    func testQueryStringTokenRequests() async throws {
        let client = try sandbox.pagaClient(tokenRequestStyle: .queryString, tokenStore: MemoryTokenStore())
        let grant = try await connect(client, user: "alice")
        XCTAssertEqual(grant.scopes, Self.allScopes)
        let exchanges = try await tokenRequests()
        let exchange = try XCTUnwrap(exchanges.first)
        XCTAssertTrue(exchange["query"]?.stringValue?.contains("grant_type=authorization_code") ?? false,
                      "\(exchange)")
        XCTAssertEqual(exchange["body"]?.stringValue ?? "", "")
        XCTAssertTrue(exchange["headers"]?["authorization"]?.stringValue?.hasPrefix("Basic ") ?? false)
        let details = try await client.userDetails(user: "alice")
        XCTAssertEqual(details.firstName, "Ada")
        XCTAssertNil(details.accountBalance, "ACCOUNT_BALANCE was not asked for")
    }

    func testFormBodyTokenRequests() async throws {
        let client = try sandbox.pagaClient(tokenRequestStyle: .formBody, tokenStore: MemoryTokenStore())
        try await connect(client, user: "alice")
        let exchanges = try await tokenRequests()
        let exchange = try XCTUnwrap(exchanges.first)
        XCTAssertEqual(parameters(exchange)["grant_type"], "authorization_code")
        XCTAssertTrue(exchange["body"]?.stringValue?.contains("grant_type=authorization_code") ?? false,
                      "\(exchange)")
    }

    func testPKCEWithAnAuthorizationRestoredFromTheSession() async throws {
        let client = try sandbox.pagaClient(pkce: true, tokenStore: MemoryTokenStore())
        let started = client.authorizationUrl(scopes: Self.allScopes)
        let url = started.url()
        XCTAssertTrue(url.contains("code_challenge="), url)
        XCTAssertTrue(url.contains("code_challenge_method=S256"), url)
        let verifier = try XCTUnwrap(started.pkceVerifier())
        XCTAssertFalse(url.contains(verifier), "the verifier must not be in the URL")
        XCTAssertFalse(String(reflecting: started).contains(verifier), "printing must not show the verifier")

        // What a web app keeps in the user's session, and restores on their return.
        let kept = (url: url, state: started.state(), verifier: verifier)
        let location = try await sandbox.pagaRedirect(for: kept.url)
        let restored = PagaAuthorization.restore(url: kept.url, state: kept.state, pkceVerifier: kept.verifier)
        let grant = try await client.handleCallback(
            try XCTUnwrap(URL(string: location)), authorization: restored, user: "alice")
        XCTAssertEqual(grant.scopes, Self.allScopes)
        let exchanges = try await tokenRequests()
        let exchange = try XCTUnwrap(exchanges.first)
        XCTAssertEqual(parameters(exchange)["code_verifier"], verifier)

        // Without the verifier, the code is refused (and used up).
        let second = client.authorizationUrl(scopes: Self.allScopes)
        let secondLocation = try await sandbox.pagaRedirect(for: second.url())
        let bare = PagaAuthorization.restore(url: second.url(), state: second.state())
        let error = try await failure {
            try await client.handleCallback(callbackUrl: secondLocation, authorization: bare, user: "bob")
        }
        XCTAssertEqual(error.kind, .authentication)
    }

    // MARK: Refresh

    func testRefreshAfterTheAccessTokensExpire() async throws {
        let store = SerializingTokenStore()
        let client = try sandbox.pagaClient(tokenStore: store)
        try await connect(client, user: "alice")
        let before = store.storedJSON
        let savesBefore = store.saves

        try await sandbox.expirePagaTokens(which: "access")
        try await sandbox.clearRequests()
        let details = try await client.userDetails(user: "alice")
        XCTAssertEqual(details.firstName, "Ada")
        let refreshes = try await tokenRequests()
        XCTAssertEqual(refreshes.count, 1)
        XCTAssertEqual(refreshes.first.flatMap { self.parameters($0)["grant_type"] }, "refresh_token")
        XCTAssertGreaterThan(store.saves, savesBefore, "the rotated pair must be saved")
        XCTAssertNotEqual(store.storedJSON, before)

        // Once the refresh token is dead too, the user must come back through Paga.
        try await sandbox.expirePagaTokens(which: "all")
        let error = try await failure { try await client.userDetails(user: "alice") }
        XCTAssertEqual(error.kind, .authentication, error.summary)
    }

    // MARK: Errors

    func testErrorCodeIsAGatewayError() async throws {
        let client = try sandbox.pagaClient(tokenStore: MemoryTokenStore())
        try await connect(client, user: "alice", scopes: ["MERCHANT_PAYMENT"])
        let error = try await failure {
            try await client.merchantPayment(
                user: "alice", referenceNumber: "big", amount: decimal("10000000"), customerReference: "customer-42")
        }
        guard case .Gateway = error else { return XCTFail("not Gateway: \(error)") }
        XCTAssertEqual(error.gatewayCode, "10")
        XCTAssertEqual(error.gatewayMessage, "Insufficient balance")

        _ = try await client.merchantPayment(
            user: "alice", referenceNumber: "once", amount: 10, customerReference: "customer-42")
        let duplicate = try await failure {
            try await client.merchantPayment(
                user: "alice", referenceNumber: "once", amount: 10, customerReference: "customer-42")
        }
        guard case .Gateway = duplicate else { return XCTFail("not Gateway: \(duplicate)") }
        XCTAssertEqual(duplicate.gatewayCode, "17")
    }

    func testMissingScopeIsAPermissionError() async throws {
        let client = try sandbox.pagaClient(tokenStore: MemoryTokenStore())
        try await connect(client, user: "alice", scopes: ["MERCHANT_PAYMENT"])
        let error = try await failure {
            try await client.moneyTransfer(
                user: "alice", referenceNumber: "t1", amount: 5, recipient: SandboxProcess.pagaRecipientPhone)
        }
        guard case .Permission = error else { return XCTFail("not Permission: \(error)") }
        XCTAssertEqual(error.status, 403)
    }

    func testBadAmountsAreValidationErrorsBeforeSending() async throws {
        let client = try sandbox.pagaClient(tokenStore: MemoryTokenStore())
        try await connect(client, user: "alice", scopes: ["MERCHANT_PAYMENT"])
        try await sandbox.clearRequests()
        let error = try await failure {
            try await client.merchantPayment(
                user: "alice", referenceNumber: "r0", amount: 0, customerReference: "customer-42")
        }
        XCTAssertEqual(error.kind, .validation)
        let sent = try await sandbox.pagaRequests(method: "POST", path: "/paga-webservices/oauth2/secure/")
        XCTAssertEqual(sent.count, 0)
    }

    func testWrongClientSecretIsAnAuthenticationError() async throws {
        let client = try sandbox.pagaClient(clientSecret: "not-the-secret", tokenStore: MemoryTokenStore())
        let error = try await failure { try await self.connect(client, user: "alice") }
        XCTAssertEqual(error.kind, .authentication)
        XCTAssertFalse(error.summary.contains("not-the-secret"), "the secret must never be in an error")
    }
}
#endif
