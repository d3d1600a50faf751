#if os(macOS) || os(Linux)
import Foundation
import PesaKit
import XCTest

/// The hosted-checkout client through Swift concurrency, against the emulator's `/checkout`
/// over real HTTP: the same ground as the Rust, Python and Kotlin suites cover.
final class CheckoutTests: XCTestCase {
    private var sandbox: SandboxProcess!

    override func setUpWithError() throws {
        sandbox = try SandboxProcess()
    }

    override func tearDown() {
        sandbox?.stop()
        sandbox = nil
    }

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

    /// The `PesakitError` a verification throws (a test failure when it succeeds).
    private func refusal(_ verification: () throws -> CheckoutWebhookEvent) -> PesakitError? {
        do {
            let event = try verification()
            XCTFail("the webhook was accepted: \(event.payment.id)")
        } catch let error as PesakitError {
            return error
        } catch {
            XCTFail("not a PesakitError: \(error)")
        }
        return nil
    }

    /// The JSON body of the last logged `POST /checkout/api/payment/checkout`.
    private func lastCheckoutBody() async throws -> (body: JSON, headers: JSON) {
        let sent = try await sandbox.checkoutRequests(method: "POST", path: "/api/payment/checkout")
        let last = try XCTUnwrap(sent.last, "no checkout request was logged")
        let text = try XCTUnwrap(last["body"]?.stringValue)
        return (try JSON.parse(text), last["headers"] ?? .null)
    }

    // MARK: Operations

    func testCreateThenGetPaymentInMinorUnits() async throws {
        let client = try sandbox.checkoutClient()
        XCTAssertEqual(client.baseUrl(), sandbox.checkoutBaseURL)

        let amount = decimal("100.50")
        let checkout = try await client.createCheckout(amount: amount, currency: "usd", reference: "order-1")
        XCTAssertTrue(checkout.checkoutUrl.contains(checkout.paymentId), checkout.checkoutUrl)
        XCTAssertGreaterThan(try XCTUnwrap(checkout.expiresAt), Date())

        let sent = try await lastCheckoutBody()
        XCTAssertEqual(sent.body["amount"]?.intValue, 10050)
        XCTAssertEqual(sent.body["currencyCode"]?.stringValue, "USD")
        XCTAssertEqual(sent.body["clientId"]?.stringValue, SandboxProcess.checkoutClientID)
        XCTAssertEqual(sent.body["reference"]?.stringValue, "order-1")
        XCTAssertEqual(sent.body["referenceLabel"]?.stringValue, "order-1")
        XCTAssertEqual(sent.headers["authorization"]?.stringValue, "Bearer \(SandboxProcess.checkoutToken)")

        let payment = try await client.getPayment(id: checkout.paymentId)
        XCTAssertEqual(payment.id, checkout.paymentId)
        XCTAssertEqual(payment.status, .open)
        XCTAssertEqual(payment.statusRaw, "OPEN")
        XCTAssertEqual(payment.reference, "order-1")
        XCTAssertEqual(payment.currencyCode, "USD")
        let money = try XCTUnwrap(payment.amount)
        XCTAssertEqual(money.minorUnits, 10050)
        XCTAssertEqual(money.value, amount)
        XCTAssertNotNil(money.formatted)
        XCTAssertNil(payment.receivedAmount)
        XCTAssertNil(payment.foundAt)
        XCTAssertNil(payment.confirmedAt)
        XCTAssertNotNil(payment.date)

        // Zero-exponent currencies take whole units; eight-digit ones their satoshis.
        let rwf = try await client.createCheckout(amount: 1500, currency: "RWF", reference: "order-2")
        let rwfPayment = try await client.getPayment(id: rwf.paymentId)
        XCTAssertEqual(rwfPayment.amount?.minorUnits, 1500)
        XCTAssertEqual(rwfPayment.amount?.value, 1500)
        let btc = try await client.createCheckout(
            amount: decimal("0.00012345"), currency: "BTC", reference: "order-3", referenceLabel: "Order 3")
        let btcPayment = try await client.getPayment(id: btc.paymentId)
        XCTAssertEqual(btcPayment.amount?.minorUnits, 12345)
        XCTAssertEqual(btcPayment.amount?.value, decimal("0.00012345"))
        let btcSent = try await lastCheckoutBody()
        XCTAssertEqual(btcSent.body["referenceLabel"]?.stringValue, "Order 3")

        // What the currency cannot express is refused before anything is sent, never rounded.
        let before = try await sandbox.requests().count
        for (text, currency) in [("1.005", "USD"), ("10.5", "RWF"), ("1", "XYZ"), ("0", "USD")] {
            let error = try await failure { try await client.createCheckout(amount: self.decimal(text), currency: currency, reference: "r") }
            XCTAssertEqual(error.kind, .validation, "\(text) \(currency): \(error)")
            XCTAssertNil(error.status)
        }
        let after = try await sandbox.requests().count
        XCTAssertEqual(after, before, "refused before sending")

        // An explicit exponent serves currencies pesakit does not know.
        _ = try await client.createCheckout(amount: decimal("2.5"), currency: "XTS", reference: "order-4", exponent: 3)
        let xts = try await lastCheckoutBody()
        XCTAssertEqual(xts.body["amount"]?.intValue, 2500)
    }

    func testTheGeneratedRequestAndTheBlockingTwins() async throws {
        let client = try sandbox.checkoutClient()
        let expires = Date().addingTimeInterval(30 * 60)
        let request = CheckoutRequest(
            amount: 75, currency: "USD", reference: "order-20", redirectUrl: "https://shop.example/done",
            expiresAt: expires, productId: "sku-1")
        let checkout = try await onBackgroundThread { try client.createCheckoutBlocking(request: request) }
        let sent = try await lastCheckoutBody()
        XCTAssertEqual(sent.body["amount"]?.intValue, 7500)
        XCTAssertEqual(sent.body["redirectUrl"]?.stringValue, "https://shop.example/done")
        let expiresAt = try XCTUnwrap(checkout.expiresAt)
        XCTAssertEqual(expiresAt.timeIntervalSince1970, expires.timeIntervalSince1970, accuracy: 1)

        let payment = try await onBackgroundThread { try client.getPaymentBlocking(id: checkout.paymentId) }
        XCTAssertEqual(payment.amount?.minorUnits, 7500)
        let text = try await onBackgroundThread {
            try client.payerInstructionsBlocking(paymentId: checkout.paymentId, provider: "tron", method: "trc20")
        }
        XCTAssertTrue(text.hasPrefix("{"), text)
    }

    func testAPaymentMovesThroughItsStatuses() async throws {
        let client = try sandbox.checkoutClient()
        let checkout = try await client.createCheckout(amount: 40, currency: "USD", reference: "order-7")

        try await sandbox.setPaymentStatus(checkout.paymentId, "RECEIVED")
        let received = try await client.getPayment(id: checkout.paymentId)
        XCTAssertEqual(received.status, .received)
        XCTAssertNotNil(received.foundAt)
        XCTAssertNil(received.confirmedAt)
        XCTAssertEqual(received.receivedAmount?.minorUnits, 4000)

        try await sandbox.setPaymentStatus(checkout.paymentId, "CONFIRMED")
        let confirmed = try await client.getPayment(id: checkout.paymentId)
        XCTAssertEqual(confirmed.status, .confirmed)
        XCTAssertEqual(confirmed.statusRaw, "CONFIRMED")
        XCTAssertNotNil(confirmed.confirmedAt)
        XCTAssertEqual(confirmed.settledAmount?.minorUnits, 4000)

        let other = try await client.createCheckout(amount: 40, currency: "USD", reference: "order-8")
        let moves: [(String, PaymentStatus)] = [
            ("UNDERPAID", .underpaid), ("CANCELLED", .cancelled), ("ERROR", .error), ("REFUND", .refund),
            ("OPEN", .`open`),
        ]
        for (status, expected) in moves {
            try await sandbox.setPaymentStatus(other.paymentId, status)
            let payment = try await client.getPayment(id: other.paymentId)
            XCTAssertEqual(payment.status, expected, status)
            XCTAssertEqual(payment.statusRaw, status)
        }
    }

    func testPayerInstructionsAreTheProvidersOwnObject() async throws {
        let client = try sandbox.checkoutClient()
        let checkout = try await client.createCheckout(amount: 25, currency: "USD", reference: "order-5")

        let instructions = try await client.payerInstructions(for: checkout.paymentId, provider: "bitcoin", method: "onchain")
        XCTAssertEqual(instructions["provider"] as? String, "bitcoin")
        XCTAssertEqual(instructions["method"] as? String, "onchain")
        let address = try XCTUnwrap(instructions["address"] as? String)
        XCTAssertFalse(address.isEmpty)
        let extra = try XCTUnwrap(instructions["extra"] as? [String: Any])
        XCTAssertEqual(extra["memo"] as? String, "order-5")
        XCTAssertNotNil(instructions["amount"] as? [String: Any])

        // The same call as JSON text, and the address is stable per payment and method.
        let text = try await client.payerInstructions(paymentId: checkout.paymentId, provider: "bitcoin", method: "onchain")
        XCTAssertEqual(try JSON.parse(text)["address"]?.stringValue, address)

        let error = try await failure {
            try await client.payerInstructions(for: checkout.paymentId, provider: "no-such-coin", method: "x")
        }
        XCTAssertEqual(error.kind, .validation)
        XCTAssertEqual(error.status, 422)
        XCTAssertEqual(error.fieldErrors.map(\.field), ["provider"])
    }

    // MARK: Errors

    func testAMissingScopeIsAPermissionErrorNeverRetried() async throws {
        let full = try sandbox.checkoutClient()
        let limited = try sandbox.checkoutClient(clientToken: SandboxProcess.limitedCheckoutToken)

        try await sandbox.clearRequests()
        let create = try await failure { try await limited.createCheckout(amount: 10, currency: "USD", reference: "o") }
        guard case .Permission = create else { return XCTFail("expected the Permission case, got \(create)") }
        XCTAssertEqual(create.kind, .permission)
        XCTAssertEqual(create.status, 403)
        XCTAssertTrue(create.summary.contains("payments.create"), create.summary)
        XCTAssertTrue(create.fieldErrors.isEmpty)
        let posts = try await sandbox.checkoutRequests(method: "POST", path: "/api/payment/checkout")
        XCTAssertEqual(posts.count, 1, "a 403 is never retried")

        // The limited token has payments.get, and only that.
        let checkout = try await full.createCheckout(amount: 10, currency: "USD", reference: "o")
        let payment = try await limited.getPayment(id: checkout.paymentId)
        XCTAssertEqual(payment.reference, "o")
        let instructions = try await failure {
            try await limited.payerInstructions(for: checkout.paymentId, provider: "bitcoin", method: "onchain")
        }
        XCTAssertEqual(instructions.kind, .permission)
        XCTAssertTrue(instructions.summary.contains("payments.user-instructions.get"), instructions.summary)

        let unknown = try sandbox.checkoutClient(clientToken: "not-a-token")
        let refused = try await failure { try await unknown.getPayment(id: checkout.paymentId) }
        XCTAssertEqual(refused.kind, .authentication)
        XCTAssertEqual(refused.status, 401)
        XCTAssertEqual(refused.gatewayMessage, "Unauthenticated.")

        let missing = try await failure { try await full.getPayment(id: "6b3f7f9e-0000-4000-8000-000000000000") }
        XCTAssertEqual(missing.kind, .notFound)
        XCTAssertEqual(missing.status, 404)
    }

    func testAGatewayValidationErrorCarriesItsFields() async throws {
        let client = try sandbox.checkoutClient()
        let error = try await failure {
            try await client.createCheckout(
                amount: 10, currency: "USD", reference: "o", expiresAt: Date(timeIntervalSince1970: 1_000_000_000))
        }
        guard case .Validation = error else { return XCTFail("expected the Validation case, got \(error)") }
        XCTAssertEqual(error.kind, .validation)
        XCTAssertEqual(error.status, 422)
        XCTAssertEqual(error.gatewayMessage, "The given data was invalid.")
        let field = try XCTUnwrap(error.fieldErrors.first(where: { $0.field == "expiresAt" }), "\(error.fieldErrors)")
        XCTAssertFalse(field.messages.isEmpty)
        XCTAssertTrue(error.summary.contains("expiresAt"), error.summary)

        // A currency code the gateway refuses, with an exponent pesakit accepts.
        let currency = try await failure {
            try await client.createCheckout(amount: 1, currency: "US1", reference: "r", exponent: 2)
        }
        XCTAssertEqual(currency.fieldErrors.map(\.field), ["currencyCode"])
        XCTAssertTrue(currency.summary.contains("currencyCode"), currency.summary)
    }

    func testCreateCheckoutIsNeverRetriedAfterItMayHaveArrived() async throws {
        let client = try sandbox.checkoutClient()
        try await sandbox.fault(.object([
            ("path", .string("/checkout/api/payment/checkout")), ("kind", .string("status")), ("status", .number("503")),
        ]))
        let error = try await failure { try await client.createCheckout(amount: 10, currency: "USD", reference: "order-9") }
        XCTAssertEqual(error.kind, .gateway)
        XCTAssertTrue(error.summary.contains("look for reference order-9"), error.summary)
        let posts = try await sandbox.checkoutRequests(method: "POST", path: "/api/payment/checkout")
        XCTAssertEqual(posts.count, 1)
    }

    func testConfigurationMistakesAreRefusedAtOnce() throws {
        func refused(_ build: () throws -> Any) -> PesakitError? {
            do {
                _ = try build()
                XCTFail("accepted")
            } catch let error as PesakitError {
                return error
            } catch {
                XCTFail("not a PesakitError: \(error)")
            }
            return nil
        }
        let noBase = refused { try CheckoutClient(baseUrl: " ", clientToken: "t") }
        XCTAssertEqual(noBase?.kind, .configuration)
        XCTAssertTrue(noBase?.summary.contains("base URL") ?? false, "\(String(describing: noBase))")
        let noToken = refused { try CheckoutClient(baseUrl: "https://pay.example") }
        XCTAssertTrue(noToken?.summary.contains("client token") ?? false, "\(String(describing: noToken))")
        let plain = refused { try CheckoutClient(baseUrl: "http://pay.example", clientToken: "t") }
        XCTAssertEqual(plain?.kind, .configuration)
        let emptySecret = refused { try CheckoutWebhookVerifier(secret: "") }
        XCTAssertEqual(emptySecret?.kind, .configuration)

        let client = try CheckoutClient(baseUrl: "https://pay.example", clientToken: "tok-secret-value",
                                        webhookSecret: "wh-secret-value")
        XCTAssertFalse(client.debugDescription.contains("tok-secret-value"), client.debugDescription)
        XCTAssertFalse(client.debugDescription.contains("wh-secret-value"), client.debugDescription)
        XCTAssertNotNil(client.webhookVerifier())
        XCTAssertNil(try CheckoutClient(baseUrl: "https://pay.example", clientToken: "t").webhookVerifier())
    }

    // MARK: OAuth and the token store

    func testOAuthSignInRefreshAndTokensPersistedByASwiftStore() async throws {
        // Sign in as the dashboard would (password grant over URLSession), then hand the
        // tokens to pesakit with a token store written in Swift.
        let signIn = try await sandbox.checkoutSignIn()
        XCTAssertGreaterThan(signIn.expiresIn, 0)
        let store = SerializingTokenStore()
        let logger = CapturingLogger()
        let oauth = try CheckoutOAuth(
            accessToken: signIn.access, clientId: SandboxProcess.oauthClientID, refreshToken: signIn.refresh,
            expiresIn: signIn.expiresIn, clientSecret: SandboxProcess.oauthClientSecret)
        let client = try sandbox.checkoutClient(
            clientToken: nil, webhookSecret: nil, oauth: oauth, tokenStore: store, logger: logger)

        let applications = try await client.paymentApplications()
        XCTAssertEqual(applications.map(\.name), ["Demo shop"])
        XCTAssertEqual(applications.first?.clientId, SandboxProcess.checkoutClientID)
        XCTAssertEqual(applications.first?.raw["name"] as? String, "Demo shop")

        // The initial tokens were saved under the OAuth key, as the JSON TokenSet.toJson() gives.
        let key = sandbox.checkoutTokenStoreKey()
        XCTAssertEqual(store.keys, [key])
        let initial = try XCTUnwrap(try store.load(key: key))
        XCTAssertEqual(initial.accessToken(), signIn.access)
        XCTAssertEqual(initial.refreshToken(), signIn.refresh)
        XCTAssertEqual(initial.expiresAt().timeIntervalSinceNow, signIn.expiresIn, accuracy: 60)

        let created = try await client.createPaymentApplication(
            name: "Second shop", secret: "shop-2-secret", callbackUrl: "https://shop.example/hooks",
            currencyWhitelist: ["USD", "RWF"])
        XCTAssertEqual(created.name, "Second shop")
        XCTAssertEqual(created.clientId?.count, 32)
        XCTAssertEqual(created.callbackUrl, "https://shop.example/hooks")
        let again = try await client.paymentApplication(id: created.id)
        XCTAssertEqual(again.currencyWhitelist, ["USD", "RWF"])
        XCTAssertNotNil(again.createdAt)
        // A name the gateway would refuse is refused before sending; a callback URL the
        // gateway refuses comes back as its 422, field by field.
        let tooShort = try await failure { try await client.createPaymentApplication(name: "ab", secret: "s") }
        XCTAssertEqual(tooShort.kind, .validation)
        XCTAssertNil(tooShort.status)
        let badCallback = try await failure {
            try await client.createPaymentApplication(name: "Third shop", secret: "s3", callbackUrl: "ftp://shop.example")
        }
        XCTAssertEqual(badCallback.kind, .validation)
        XCTAssertEqual(badCallback.status, 422)
        XCTAssertEqual(badCallback.fieldErrors.map(\.field), ["callbackUrl"])

        // The access token expires server-side: one 401, one refresh (rotating), the retry.
        try await sandbox.expireOAuthTokens()
        try await sandbox.clearRequests()
        let afterExpiry = try await client.paymentApplications()
        XCTAssertEqual(afterExpiry.count, 2)
        let tokenRequests = try await sandbox.checkoutRequests(method: "POST", path: "/oauth/token")
        XCTAssertEqual(tokenRequests.count, 1)
        let form = tokenRequests.first?["body"]?.stringValue ?? ""
        XCTAssertTrue(form.contains("grant_type=refresh_token"), form)
        let listings = try await sandbox.checkoutRequests(method: "GET", path: "/api/payment-applications")
        XCTAssertEqual(listings.map { $0["status"]?.intValue }, [401, 200])

        let rotated = try XCTUnwrap(try store.load(key: key))
        XCTAssertNotEqual(rotated.accessToken(), signIn.access)
        XCTAssertNotEqual(rotated.refreshToken(), signIn.refresh, "the refresh token rotates")
        XCTAssertGreaterThanOrEqual(store.saves, 2)

        // A new client given the stale sign-in but the same store uses the persisted tokens.
        try await sandbox.clearRequests()
        let restarted = try sandbox.checkoutClient(clientToken: nil, webhookSecret: nil, oauth: oauth, tokenStore: store)
        let fromStore = try await restarted.paymentApplications()
        XCTAssertEqual(fromStore.count, 2)
        let noRefresh = try await sandbox.checkoutRequests(method: "POST", path: "/oauth/token")
        XCTAssertEqual(noRefresh.count, 0)

        // Client-token calls need the client token.
        let noToken = try await failure { try await client.getPayment(id: "x") }
        XCTAssertEqual(noToken.kind, .configuration)

        // Once the refresh token is refused too, the error says to sign in again and the
        // refused tokens are forgotten.
        try await sandbox.expireOAuthTokens(which: "all")
        let expired = try await failure { try await restarted.paymentApplications() }
        XCTAssertEqual(expired.kind, .authentication)
        XCTAssertTrue(expired.summary.contains("sign in again"), expired.summary)
        XCTAssertEqual(store.keys, [])

        let secrets = [signIn.access, signIn.refresh, rotated.accessToken(), SandboxProcess.oauthClientSecret,
                       "shop-2-secret"] + [rotated.refreshToken()].compactMap { $0 }
        let texts = [logger.text, client.debugDescription, oauth.debugDescription, rotated.debugDescription,
                     expired.summary, "\(expired)", expired.body ?? ""]
        XCTAssertTrue(logger.text.contains("access token refreshed"), logger.text)
        for text in texts {
            for secret in secrets {
                XCTAssertFalse(text.contains(secret), "a secret leaked into: \(text)")
            }
        }
    }

    func testAClientTokenCannotManageApplications() async throws {
        let client = try sandbox.checkoutClient()
        let error = try await failure { try await client.paymentApplications() }
        XCTAssertEqual(error.kind, .configuration, "no OAuth tokens configured")
    }

    // MARK: Webhooks

    private let secret = "app-secret"
    private let signedAt: Int64 = 1_700_000_000
    private let body = Data(#"{"payment":{"id":"p1","status":"RECEIVED","amount":{"value":1.5,"amount":150,"formatted":"$1.50"}}}"#.utf8)

    private func at(_ offset: TimeInterval) -> Date {
        Date(timeIntervalSince1970: TimeInterval(signedAt) + offset)
    }

    func testAWebhookSignedInsideTheWindowParses() throws {
        let verifier = try CheckoutWebhookVerifier(secret: secret)
        // hex(HMAC-SHA256("secret", "1700000000.hello")), the core's known vector.
        XCTAssertEqual(try CheckoutWebhookVerifier(secret: "secret").sign(timestamp: 1_700_000_000, body: Data("hello".utf8)),
                       "47b1df0ab12338b2685470b0d2b37033add7c3b2bc8172f313e77413f1bb78c8")

        let signature = verifier.sign(timestamp: signedAt, body: body)
        XCTAssertEqual(signature.count, 64)
        XCTAssertTrue(signature.allSatisfy { $0.isHexDigit && !$0.isUppercase }, signature)
        let event = try verifier.verifyAndParseAt(
            body: body, signature: signature, timestamp: String(signedAt), now: at(0), event: "payment.received")
        XCTAssertEqual(event.kind, .paymentReceived)
        XCTAssertEqual(event.kindRaw, "payment.received")
        XCTAssertEqual(event.timestamp.timeIntervalSince1970, TimeInterval(signedAt), accuracy: 0.001)
        XCTAssertEqual(event.payment.id, "p1")
        XCTAssertEqual(event.payment.status, .received)
        XCTAssertEqual(event.payment.amount?.minorUnits, 150)
        XCTAssertEqual(event.payment.amount?.value, decimal("1.5"))
        XCTAssertEqual(event.payment.amount?.formatted, "$1.50")

        // Either side of now, up to the tolerance.
        for offset in [300.0, -300.0] {
            XCTAssertNoThrow(try verifier.verifyAndParseAt(
                body: body, signature: signature, timestamp: String(signedAt), now: at(offset)))
        }
        // An event pesakit does not know keeps its name.
        let other = try verifier.verifyAndParseAt(
            body: body, signature: signature, timestamp: String(signedAt), now: at(0), event: "payment.expired")
        XCTAssertEqual(other.kind, .unknown)
        XCTAssertEqual(other.kindRaw, "payment.expired")

        // Signed now, checked against the clock.
        let now = Int64(Date().timeIntervalSince1970)
        let fresh = try verifier.verifyAndParse(
            body: body, signature: verifier.sign(timestamp: now, body: body), timestamp: String(now),
            event: "payment.completed")
        XCTAssertEqual(fresh.kind, .paymentCompleted)
    }

    func testTamperedStaleAndUnsignedWebhooksAreRefused() throws {
        let verifier = try CheckoutWebhookVerifier(secret: secret)
        let signature = verifier.sign(timestamp: signedAt, body: body)
        let timestamp = String(signedAt)

        let tampered = Data(String(decoding: body, as: UTF8.self).replacingOccurrences(of: "150", with: "950").utf8)
        let altered = try XCTUnwrap(refusal {
            try verifier.verifyAndParseAt(body: tampered, signature: signature, timestamp: timestamp, now: at(0))
        })
        guard case .WebhookSignature = altered else { return XCTFail("expected WebhookSignature, got \(altered)") }
        XCTAssertEqual(altered.kind, .webhookSignature)
        XCTAssertNil(altered.status)

        // The signature covers the timestamp: moving it by a second breaks it.
        let moved = refusal {
            try verifier.verifyAndParseAt(body: self.body, signature: signature, timestamp: String(self.signedAt + 1), now: self.at(0))
        }
        XCTAssertEqual(moved?.kind, .webhookSignature)

        // A replay outside the window, either side.
        for offset in [301.0, -301.0, 3600.0] {
            let stale = try XCTUnwrap(refusal {
                try verifier.verifyAndParseAt(body: self.body, signature: signature, timestamp: timestamp, now: self.at(offset))
            })
            XCTAssertEqual(stale.kind, .webhookSignature)
            XCTAssertTrue(stale.summary.contains("tolerance"), stale.summary)
        }
        // A narrower window, given as a TimeInterval.
        let narrow = try CheckoutWebhookVerifier(secret: secret, tolerance: 10)
        XCTAssertNoThrow(try narrow.verifyAndParseAt(body: body, signature: signature, timestamp: timestamp, now: at(10)))
        XCTAssertEqual(refusal {
            try narrow.verifyAndParseAt(body: self.body, signature: signature, timestamp: timestamp, now: self.at(11))
        }?.kind, .webhookSignature)

        let noSignature = refusal { try verifier.verifyAndParseAt(body: self.body, signature: nil, timestamp: timestamp, now: self.at(0)) }
        XCTAssertTrue(noSignature?.summary.contains("X-PaymentService-Signature") ?? false, "\(String(describing: noSignature))")
        let noTimestamp = refusal { try verifier.verifyAndParseAt(body: self.body, signature: signature, timestamp: nil, now: self.at(0)) }
        XCTAssertTrue(noTimestamp?.summary.contains("X-PaymentService-Timestamp") ?? false, "\(String(describing: noTimestamp))")
        let notHex = refusal { try verifier.verifyAndParseAt(body: self.body, signature: "zz", timestamp: timestamp, now: self.at(0)) }
        XCTAssertEqual(notHex?.kind, .webhookSignature)

        let wrongSecret = try CheckoutWebhookVerifier(secret: "not-the-secret").sign(timestamp: signedAt, body: body)
        XCTAssertEqual(refusal {
            try verifier.verifyAndParseAt(body: self.body, signature: wrongSecret, timestamp: timestamp, now: self.at(0))
        }?.kind, .webhookSignature)

        // A valid signature over a body that is not a payment is a decode error.
        let broken = Data(#"{"payment": "#.utf8)
        XCTAssertEqual(refusal {
            try verifier.verifyAndParseAt(
                body: broken, signature: verifier.sign(timestamp: self.signedAt, body: broken), timestamp: timestamp,
                now: self.at(0))
        }?.kind, .decode)
    }

    func testTheClientsVerifierUsesItsWebhookSecret() throws {
        let client = try sandbox.checkoutClient()
        let verifier = try XCTUnwrap(client.webhookVerifier())
        let standalone = try CheckoutWebhookVerifier(secret: SandboxProcess.checkoutWebhookSecret)
        let now = Int64(Date().timeIntervalSince1970)
        let signature = standalone.sign(timestamp: now, body: body)
        XCTAssertEqual(verifier.sign(timestamp: now, body: body), signature)
        let event = try verifier.verifyAndParse(body: body, signature: signature, timestamp: String(now), event: "payment.received")
        XCTAssertEqual(event.payment.id, "p1")
        for text in [verifier.debugDescription, standalone.debugDescription, String(reflecting: verifier)] {
            XCTAssertFalse(text.contains(SandboxProcess.checkoutWebhookSecret), text)
        }
        XCTAssertNil(try sandbox.checkoutClient(webhookSecret: nil).webhookVerifier())
    }
}
#endif
