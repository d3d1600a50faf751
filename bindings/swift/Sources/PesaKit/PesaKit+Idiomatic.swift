// Hand-written Swift idiom over the generated PesaKit.swift. Nothing here implements
// payment logic: every call forwards to the generated API, which calls the Rust core.
//
// - The pagers are `AsyncSequence`s: `for try await tx in try client.transactions() { … }`.
// - `PesakitError` reads as a sentence: `description`, `errorDescription` and
//   `localizedDescription` are its `summary`; its fields are readable whatever the case.
// - Labelled convenience calls with Swift default arguments for the common cases, for the
//   Paypack client, the hosted-checkout client and the Paga Connect client; payer
//   instructions, Paga's one-time tokens and raw answers as `[String: Any]`.
// - `TimeInterval` where the generated API takes seconds or milliseconds as integers.

import Foundation

// MARK: - Pagers as AsyncSequence

/// A `PaypackTransactionPager` is its own `AsyncSequence`: iterate it with
/// `for try await`. It is single-pass (like a stream): a second loop continues where the
/// first stopped. Each transaction is yielded once; the next page is fetched as the loop
/// reaches it. An error ends the sequence.
extension PaypackTransactionPager: AsyncSequence, AsyncIteratorProtocol {
    public typealias Element = Transaction

    public func makeAsyncIterator() -> PaypackTransactionPager {
        self
    }
}

/// A `PaypackEventPager` is its own `AsyncSequence` (single-pass, deduplicated on the
/// event id, fetching page after page): `for try await event in try client.events() { … }`.
extension PaypackEventPager: AsyncSequence, AsyncIteratorProtocol {
    public typealias Element = Event

    public func makeAsyncIterator() -> PaypackEventPager {
        self
    }
}

// MARK: - PesakitError

extension PesakitError {
    /// The fields every case carries, whatever the case.
    private var fields: (
        kind: ErrorKind, summary: String, status: UInt16?, gatewayMessage: String?,
        gatewayCode: String?, body: String?, retryAfterMs: UInt64?, idempotencyKey: String?,
        fieldErrors: [FieldError]
    ) {
        switch self {
        case let .Authentication(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey, fieldErrors),
             let .Permission(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey, fieldErrors),
             let .Validation(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey, fieldErrors),
             let .NotFound(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey, fieldErrors),
             let .RateLimited(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey, fieldErrors),
             let .Gateway(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey, fieldErrors),
             let .Network(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey, fieldErrors),
             let .Timeout(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey, fieldErrors),
             let .Decode(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey, fieldErrors),
             let .Configuration(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey, fieldErrors),
             let .WebhookSignature(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey, fieldErrors),
             let .TokenStore(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey, fieldErrors),
             let .Internal(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey, fieldErrors):
            return (kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey, fieldErrors)
        }
    }

    /// What went wrong, to branch on (the same as the case).
    public var kind: ErrorKind { fields.kind }

    /// What happened, as a sentence a person understands. Never contains a secret.
    public var summary: String { fields.summary }

    /// The HTTP status of the gateway's answer, when there was one.
    public var status: UInt16? { fields.status }

    /// The gateway's own message.
    public var gatewayMessage: String? { fields.gatewayMessage }

    /// The gateway's own error code.
    public var gatewayCode: String? { fields.gatewayCode }

    /// The raw body of the gateway's answer (never one carrying tokens).
    public var body: String? { fields.body }

    /// How long the gateway asked to wait before trying again, in milliseconds.
    public var retryAfterMs: UInt64? { fields.retryAfterMs }

    /// How long the gateway asked to wait before trying again, in seconds.
    public var retryAfter: TimeInterval? { fields.retryAfterMs.map { Double($0) / 1000 } }

    /// For money calls whose outcome is unknown: the idempotency key to retry with, so that
    /// at most one transaction is created.
    public var idempotencyKey: String? { fields.idempotencyKey }

    /// The gateway's complaints per input field (HTTP 422); empty otherwise.
    public var fieldErrors: [FieldError] { fields.fieldErrors }
}

/// Printing a `PesakitError` (`print(error)`, `"\(error)"`) gives its summary. Because the
/// generated `errorDescription` is `String(reflecting: self)`, and `PesakitError` has no
/// `debugDescription`, `errorDescription` and `localizedDescription` are the summary too.
extension PesakitError: CustomStringConvertible {
    public var description: String { summary }
}

// MARK: - Convenience calls

extension PaypackClient {
    /// Asks the customer to pay `amount` RWF; returns the pending transaction. Retried only
    /// with its idempotency key (generated when `nil`), so at most one transaction is created.
    public func cashin(
        amount: Decimal,
        number: String,
        idempotencyKey: String? = nil,
        webhookMode: WebhookMode? = nil,
        validate: Bool = true
    ) async throws -> Transaction {
        try await cashin(request: CashRequest(
            amount: amount, number: number, idempotencyKey: idempotencyKey,
            webhookMode: webhookMode, validate: validate))
    }

    /// Pays `amount` RWF out to the customer; returns the pending transaction. Retried only
    /// with its idempotency key (generated when `nil`), so at most one transaction is created.
    public func cashout(
        amount: Decimal,
        number: String,
        idempotencyKey: String? = nil,
        webhookMode: WebhookMode? = nil,
        validate: Bool = true
    ) async throws -> Transaction {
        try await cashout(request: CashRequest(
            amount: amount, number: number, idempotencyKey: idempotencyKey,
            webhookMode: webhookMode, validate: validate))
    }

    /// Every transaction matching the filters, as an `AsyncSequence` fetching `pageSize`
    /// at a time: `for try await tx in try client.transactions(kind: .cashIn) { … }`.
    public func transactions(
        kind: TransactionKind? = nil,
        client: String? = nil,
        from: Date? = nil,
        to: Date? = nil,
        pageSize: UInt64? = nil
    ) throws -> PaypackTransactionPager {
        try transactions(filter: TransactionFilter(
            limit: pageSize, from: from, to: to, kind: kind, client: client))
    }

    /// Every event matching the filters, as an `AsyncSequence` fetching `pageSize` at a
    /// time: `for try await event in try client.events(reference: tx.reference) { … }`.
    public func events(
        reference: String? = nil,
        kind: TransactionKind? = nil,
        client: String? = nil,
        status: TransactionStatus? = nil,
        from: Date? = nil,
        to: Date? = nil,
        pageSize: UInt64? = nil
    ) throws -> PaypackEventPager {
        try events(filter: EventFilter(
            reference: reference, kind: kind, client: client, status: status,
            limit: pageSize, from: from, to: to))
    }

    /// Waits until `reference` is processed (successful or failed) and returns it; a
    /// `Timeout` error after `timeout` seconds.
    public func waitForCompletion(reference: String, timeout: TimeInterval) async throws -> Transaction {
        try await waitForCompletion(reference: reference, timeoutMs: UInt64(max(0, timeout) * 1000))
    }
}

// MARK: - Hosted checkout

/// Parses JSON text the gateway sent into an object; a `Decode` error when it is not one.
private func jsonObject(_ text: String, what: String) throws -> [String: Any] {
    guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
        throw PesakitError.Decode(
            kind: .decode, summary: "the gateway sent \(what) that are not a JSON object", status: nil,
            gatewayMessage: nil, gatewayCode: nil, body: text, retryAfterMs: nil, idempotencyKey: nil,
            fieldErrors: [])
    }
    return object
}

extension CheckoutClient {
    /// Creates a checkout for `amount` in `currency` under `reference` and returns the hosted
    /// page to send the payer to. `amount` is in major units and exact: write
    /// `Decimal(string: "100.50")!` or an integer literal, never a `Double` literal. It goes out
    /// in minor units by the currency's exponent (`exponent` for a currency pesakit does not
    /// know); more digits than the currency has is a `Validation` error, never rounded.
    /// Not retried once the request may have arrived: after a timeout or a server error, look
    /// the reference up before creating another.
    public func createCheckout(
        amount: Decimal,
        currency: String,
        reference: String,
        referenceLabel: String? = nil,
        redirectUrl: String? = nil,
        expiresAt: Date? = nil,
        productId: String? = nil,
        settlementCurrency: String? = nil,
        siteId: String? = nil,
        exponent: UInt32? = nil
    ) async throws -> Checkout {
        try await createCheckout(request: CheckoutRequest(
            amount: amount, currency: currency, reference: reference, referenceLabel: referenceLabel,
            redirectUrl: redirectUrl, expiresAt: expiresAt, productId: productId,
            settlementCurrency: settlementCurrency, siteId: siteId, exponent: exponent))
    }

    /// What the payer must do to pay `paymentId` with `provider` / `method` (`"bitcoin"`,
    /// `"onchain"`), as the provider's own JSON object, parsed with `JSONSerialization`:
    /// `instructions["address"] as? String`. Scope `payments.user-instructions.get`.
    public func payerInstructions(for paymentId: String, provider: String, method: String) async throws -> [String: Any] {
        let text = try await payerInstructions(paymentId: paymentId, provider: provider, method: method)
        return try jsonObject(text, what: "payer instructions")
    }

    /// Creates a payment application whose webhooks are signed with `secret` (OAuth). Not
    /// retried once the request may have arrived.
    public func createPaymentApplication(
        name: String,
        secret: String,
        url: String? = nil,
        callbackUrl: String? = nil,
        currencyWhitelist: [String] = [],
        allowUnderpay: Bool? = nil,
        allowOverpay: Bool? = nil
    ) async throws -> PaymentApplication {
        try await createPaymentApplication(
            app: NewPaymentApplication(
                name: name, url: url, callbackUrl: callbackUrl, currencyWhitelist: currencyWhitelist,
                allowUnderpay: allowUnderpay, allowOverpay: allowOverpay),
            secret: secret)
    }
}

extension PaymentApplication {
    /// Everything the gateway sent about the application (`rawJson`), parsed with
    /// `JSONSerialization`; empty if it is not a JSON object.
    public var raw: [String: Any] {
        (try? jsonObject(rawJson, what: "payment application")) ?? [:]
    }
}

extension CheckoutOAuth {
    /// Tokens from a sign-in whose answer said they expire in `expiresIn` seconds (OAuth's
    /// `expires_in`), counted from now.
    public convenience init(
        accessToken: String,
        clientId: String,
        refreshToken: String? = nil,
        expiresIn: TimeInterval,
        clientSecret: String? = nil,
        tokenPath: String? = nil
    ) throws {
        try self.init(
            accessToken: accessToken, clientId: clientId, refreshToken: refreshToken,
            expiresAt: Date(timeIntervalSinceNow: expiresIn), clientSecret: clientSecret, tokenPath: tokenPath)
    }
}

extension CheckoutWebhookVerifier {
    /// A verifier for webhooks signed with the application `secret`, accepting signing times
    /// up to `tolerance` seconds either side of now (rounded up to whole seconds).
    public convenience init(secret: String, tolerance: TimeInterval) throws {
        let seconds = tolerance.isNaN ? 0 : min(max(tolerance.rounded(.up), 0), 4_000_000_000)
        try self.init(secret: secret, toleranceSecs: UInt64(seconds))
    }
}

// MARK: - Paga Connect

extension PagaClient {
    /// Starts an authorization asking for `scopes` (wire names: `"MERCHANT_PAYMENT"`,
    /// `"MONEY_TRANSFER"`, `"USER_DETAILS_REQUEST"`, …) and no user data. Send the user to
    /// `url()`; keep the authorization (its `state()` and, with PKCE, `pkceVerifier()`) in
    /// their session until they come back.
    public func authorizationUrl(scopes: [String]) -> PagaAuthorization {
        authorizationUrl(scopes: scopes, userData: [])
    }

    /// Handles the user's return to your redirect URI (the whole URL Paga sent them to):
    /// checks the state, turns `error=access_denied` into an `Authentication` error, exchanges
    /// the code and stores the tokens under `user`.
    public func handleCallback(
        _ callbackURL: URL, authorization: PagaAuthorization, user: String
    ) async throws -> PagaGrant {
        try await handleCallback(callbackUrl: callbackURL.absoluteString, authorization: authorization, user: user)
    }

    /// Charges `user` `amount` (major units, exact: `Decimal(string: "1000.50")!`). Not retried
    /// once the request may have arrived: keep `referenceNumber` (`newPagaReferenceNumber()`)
    /// to look the payment up; Paga refuses a reference already paid (`gatewayCode` `"17"`).
    public func merchantPayment(
        user: String,
        referenceNumber: String,
        amount: Decimal,
        customerReference: String,
        productCode: String? = nil,
        currency: String? = nil
    ) async throws -> PagaPaymentResult {
        try await merchantPayment(user: user, request: PagaMerchantPaymentRequest(
            referenceNumber: referenceNumber, amount: amount, customerReference: customerReference,
            productCode: productCode, currency: currency))
    }

    /// Sends `amount` from the merchant to the Paga user whose phone is `recipient`, with the
    /// authorization `user` granted (`MONEY_TRANSFER`). Not retried once the request may have
    /// arrived.
    public func moneyTransfer(
        user: String,
        referenceNumber: String,
        amount: Decimal,
        recipient: String,
        skipMessaging: Bool = false
    ) async throws -> PagaPaymentResult {
        try await moneyTransfer(user: user, request: PagaMoneyTransferRequest(
            referenceNumber: referenceNumber, amount: amount, recipient: recipient, skipMessaging: skipMessaging))
    }

    /// A one-time token for `user`, as Paga's own JSON object parsed with
    /// `JSONSerialization` (its shape is undocumented): `token["oneTimeToken"] as? String`.
    public func oneTimeToken(for user: String, referenceNumber: String) async throws -> [String: Any] {
        let text = try await oneTimeToken(user: user, referenceNumber: referenceNumber)
        return try jsonObject(text, what: "one-time token fields")
    }
}

extension PagaGrant {
    /// Every other field of the token answer (`authorities`, `limitMaximum`, …), parsed with
    /// `JSONSerialization`; empty if it is not a JSON object.
    public var extra: [String: Any] {
        (try? jsonObject(extraJson, what: "token fields")) ?? [:]
    }
}

extension PagaUserDetails {
    /// Everything Paga sent about the user (`rawJson`), parsed; empty if not a JSON object.
    public var raw: [String: Any] {
        (try? jsonObject(rawJson, what: "user details")) ?? [:]
    }
}

extension PagaPaymentResult {
    /// Paga's whole result (`rawJson`), parsed; empty if not a JSON object.
    public var raw: [String: Any] {
        (try? jsonObject(rawJson, what: "payment result fields")) ?? [:]
    }
}
