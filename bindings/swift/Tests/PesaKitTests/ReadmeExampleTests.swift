// The code between the README-EXAMPLE markers is the quickstart of bindings/swift/README.md,
// and the code between the README-CHECKOUT-EXAMPLE markers its "Hosted checkout" example,
// character for character (scripts/package-swift checks that they are identical), so the
// README's examples are compiled and run wherever the tests run.
import XCTest

// README-EXAMPLE-BEGIN
import Foundation
import PesaKit

/// Asks a customer for 1000 RWF, waits until they confirm on their phone, and lists the
/// account's cash-ins. `baseURL` is Paypack's API (or the local emulator's).
func collectPayment(baseURL: String = "https://payments.paypack.rw/api") async throws -> Transaction {
    let client = try PaypackClient(
        clientId: "my-client-id",
        clientSecret: "my-client-secret",
        // Plain http:// is refused except to loopback, and only when allowed (the emulator).
        options: PaypackOptions(baseUrl: baseURL, allowInsecureLoopback: true)
    )
    do {
        let pending = try await client.cashin(amount: 1000, number: "0788123456")
        let done = try await client.waitForCompletion(reference: pending.reference, timeout: 120)
        print("\(done.reference) is \(done.status); fee \(done.fee ?? 0) RWF")

        // Pagers are AsyncSequences: every page is fetched as the loop reaches it.
        for try await transaction in try client.transactions(kind: .cashIn) {
            print(transaction.reference, transaction.amount, transaction.createdAt ?? Date())
        }
        return done
    } catch let error as PesakitError {
        // One error type: branch on `kind`; print it and you get a sentence.
        print("payment failed (\(error.kind)): \(error.localizedDescription)")
        throw error
    }
}
// README-EXAMPLE-END

// README-CHECKOUT-EXAMPLE-BEGIN
import Foundation
import PesaKit

/// Opens a hosted checkout for order 1001 (100.50 USD) and returns the page to send the
/// payer to. `baseURL` is your gateway's (it is white-label) or the local emulator's.
func openCheckout(baseURL: String, clientToken: String, clientId: String) async throws -> Checkout {
    let client = try CheckoutClient(
        baseUrl: baseURL,
        clientToken: clientToken,             // scoped: payments.create, payments.get, …
        webhookSecret: "my-webhook-secret",
        options: CheckoutOptions(clientId: clientId, allowInsecureLoopback: true)
    )
    do {
        // Major units as an exact Decimal (never a Double literal); sent as 10050 cents.
        let checkout = try await client.createCheckout(
            amount: Decimal(string: "100.50")!, currency: "USD", reference: "order-1001",
            expiresAt: Date().addingTimeInterval(30 * 60))
        print("send the payer to \(checkout.checkoutUrl)")

        let payment = try await client.getPayment(id: checkout.paymentId)
        print(payment.status, payment.amount?.minorUnits ?? 0)      // open 10050

        // The provider's own JSON object, as [String: Any].
        let bitcoin = try await client.payerInstructions(
            for: checkout.paymentId, provider: "bitcoin", method: "onchain")
        print("or pay to \(bitcoin["address"] as? String ?? "?")")
        return checkout
    } catch let error as PesakitError where error.kind == .validation {
        // The gateway's 422 names each field it refused.
        for field in error.fieldErrors {
            print("\(field.field): \(field.messages.joined(separator: " "))")
        }
        throw error
    }
}

/// Your webhook endpoint: verify the raw body against the three headers before trusting it
/// (a stale timestamp is refused), then act once per (payment id, event): deliveries are
/// retried for about 40 hours.
func receiveCheckoutWebhook(body: Data, headers: [String: String], secret: String) throws -> CheckoutWebhookEvent {
    let verifier = try CheckoutWebhookVerifier(secret: secret, tolerance: 5 * 60)
    let event = try verifier.verifyAndParse(
        body: body,
        signature: headers["X-PaymentService-Signature"],
        timestamp: headers["X-PaymentService-Timestamp"],
        event: headers["X-PaymentService-Event"]
    )
    print("\(event.payment.id): \(event.kindRaw) → \(event.payment.status)")
    return event
}
// README-CHECKOUT-EXAMPLE-END

#if os(macOS) || os(Linux)
final class ReadmeExampleTests: XCTestCase {
    func testTheQuickstartRunsAgainstTheEmulator() async throws {
        // The example's credentials are the emulator's application; transactions settle
        // by themselves after 50 ms, as a customer confirming quickly would.
        let sandbox = try SandboxProcess(settleAfterMs: 50, arguments: ["--app", "my-client-id:my-client-secret"])
        defer { sandbox.stop() }
        let done = try await collectPayment(baseURL: sandbox.paypackBaseURL)
        XCTAssertEqual(done.status, .successful)
        XCTAssertEqual(done.amount, 1000)
    }

    func testTheCheckoutExampleRunsAgainstTheEmulator() async throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        let checkout = try await openCheckout(
            baseURL: sandbox.checkoutBaseURL, clientToken: SandboxProcess.checkoutToken,
            clientId: SandboxProcess.checkoutClientID)
        XCTAssertTrue(checkout.checkoutUrl.contains(checkout.paymentId), checkout.checkoutUrl)
        let sent = try await sandbox.checkoutRequests(method: "POST", path: "/api/payment/checkout")
        let body = try JSON.parse(try XCTUnwrap(sent.first?["body"]?.stringValue))
        XCTAssertEqual(body["amount"]?.intValue, 10050)

        let secret = "my-webhook-secret"
        let payload = Data(#"{"payment":{"id":"p1","status":"CONFIRMED"}}"#.utf8)
        let gateway = try CheckoutWebhookVerifier(secret: secret)
        let now = Int64(Date().timeIntervalSince1970)
        let headers = [
            "X-PaymentService-Signature": gateway.sign(timestamp: now, body: payload),
            "X-PaymentService-Timestamp": String(now),
            "X-PaymentService-Event": "payment.completed",
        ]
        let event = try receiveCheckoutWebhook(body: payload, headers: headers, secret: secret)
        XCTAssertEqual(event.kind, .paymentCompleted)
        XCTAssertEqual(event.payment.status, .confirmed)

        // Signed an hour ago: a replay, outside the 5-minute window.
        var stale = headers
        stale["X-PaymentService-Signature"] = gateway.sign(timestamp: now - 3600, body: payload)
        stale["X-PaymentService-Timestamp"] = String(now - 3600)
        XCTAssertThrowsError(try receiveCheckoutWebhook(body: payload, headers: stale, secret: secret)) { error in
            XCTAssertEqual((error as? PesakitError)?.kind, .webhookSignature, "\(error)")
        }
    }
}
#endif
