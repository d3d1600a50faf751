// Hand-written Swift idiom over the generated PesaKit.swift. Nothing here implements
// payment logic: every call forwards to the generated API, which calls the Rust core.
//
// - The pagers are `AsyncSequence`s: `for try await tx in try client.transactions() { … }`.
// - `PesakitError` reads as a sentence: `description`, `errorDescription` and
//   `localizedDescription` are its `summary`; its fields are readable whatever the case.
// - Labelled convenience calls with Swift default arguments for the common cases.

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
        gatewayCode: String?, body: String?, retryAfterMs: UInt64?, idempotencyKey: String?
    ) {
        switch self {
        case let .Authentication(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey),
             let .Permission(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey),
             let .Validation(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey),
             let .NotFound(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey),
             let .RateLimited(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey),
             let .Gateway(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey),
             let .Network(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey),
             let .Timeout(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey),
             let .Decode(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey),
             let .Configuration(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey),
             let .WebhookSignature(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey),
             let .TokenStore(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey),
             let .Internal(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey):
            return (kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey)
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
