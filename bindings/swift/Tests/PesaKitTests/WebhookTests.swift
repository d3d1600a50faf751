#if os(macOS) || os(Linux)
import Foundation
import PesaKit
import XCTest

/// Webhook verification: signatures over the raw body bytes, and what is refused.
final class WebhookTests: XCTestCase {
    private let secret = "whsec-swift"
    private let body = Data(#"{"event_id":"e1","event_kind":"transaction:processed","created_at":"2022-01-03T15:22:29.430397Z","data":{"ref":"r1","kind":"CASHIN","fee":18.4,"merchant":"4Q6UHJ","client":"0780633340","amount":800,"status":"successful","created_at":"2022-01-03T17:22:02.7422568+02:00","processed_at":"2022-01-03T17:22:29.43022813+02:00"}}"#.utf8)

    /// The `PesakitError` a verification throws (a test failure when it throws nothing).
    private func refusal(_ verification: () throws -> Event) -> PesakitError? {
        do {
            let event = try verification()
            XCTFail("the webhook was accepted: \(event.id)")
        } catch let error as PesakitError {
            return error
        } catch {
            XCTFail("not a PesakitError: \(error)")
        }
        return nil
    }

    func testAValidSignatureParsesTheEvent() throws {
        let verifier = try PaypackWebhookVerifier(secret: secret)
        XCTAssertEqual(verifier.signatureHeader(), "X-Paypack-Signature")
        let signature = verifier.sign(body: body)
        XCTAssertNotNil(Data(base64Encoded: signature), signature)
        try verifier.verify(body: body, signature: signature)

        let event = try verifier.verifyAndParse(body: body, signature: signature)
        XCTAssertEqual(event.id, "e1")
        XCTAssertEqual(event.kind, .transactionProcessed)
        XCTAssertEqual(event.kindRaw, "transaction:processed")
        XCTAssertEqual(event.transaction.reference, "r1")
        XCTAssertEqual(event.transaction.status, .successful)
        XCTAssertEqual(event.transaction.kind, .cashIn)
        XCTAssertEqual(event.transaction.amount, 800)
        XCTAssertEqual(event.transaction.fee, Decimal(string: "18.4", locale: Locale(identifier: "en_US_POSIX")))
        let created = try XCTUnwrap(event.createdAt)
        XCTAssertEqual(created.timeIntervalSince1970, 1_641_223_349.430397, accuracy: 0.001)
        let processed = try XCTUnwrap(event.transaction.processedAt)
        XCTAssertEqual(processed.timeIntervalSince1970, 1_641_223_349.430228, accuracy: 0.001)
    }

    func testATamperedBodyIsRefused() throws {
        let verifier = try PaypackWebhookVerifier(secret: secret)
        let signature = verifier.sign(body: body)
        let tampered = Data(String(decoding: body, as: UTF8.self)
            .replacingOccurrences(of: "\"amount\":800", with: "\"amount\":900").utf8)
        XCTAssertNotEqual(tampered, body)
        let error = try XCTUnwrap(refusal { try verifier.verifyAndParse(body: tampered, signature: signature) })
        guard case .WebhookSignature = error else { return XCTFail("expected WebhookSignature, got \(error)") }
        XCTAssertEqual(error.kind, .webhookSignature)
        XCTAssertNil(error.status)
    }

    func testAMissingOrWrongSignatureIsRefused() throws {
        let verifier = try PaypackWebhookVerifier(secret: secret)
        let missing = try XCTUnwrap(refusal { try verifier.verifyAndParse(body: body, signature: nil) })
        XCTAssertEqual(missing.kind, .webhookSignature)
        XCTAssertTrue(missing.summary.contains("X-Paypack-Signature"), missing.summary)

        let other = try PaypackWebhookVerifier(secret: "not-the-secret")
        let wrong = try XCTUnwrap(refusal { try verifier.verifyAndParse(body: body, signature: other.sign(body: body)) })
        XCTAssertEqual(wrong.kind, .webhookSignature)

        let garbage = try XCTUnwrap(refusal { try verifier.verifyAndParse(body: body, signature: "not base64!") })
        XCTAssertEqual(garbage.kind, .webhookSignature)
    }

    func testAValidSignatureOverAnUnreadableBodyIsADecodeError() throws {
        let verifier = try PaypackWebhookVerifier(secret: secret)
        let broken = Data(#"{"event_id": "#.utf8)
        let error = try XCTUnwrap(refusal { try verifier.verifyAndParse(body: broken, signature: verifier.sign(body: broken)) })
        XCTAssertEqual(error.kind, .decode)
    }

    func testTheVerifierNeverPrintsItsSecret() throws {
        let verifier = try PaypackWebhookVerifier(secret: secret)
        XCTAssertFalse(verifier.debugDescription.contains(secret), verifier.debugDescription)
        XCTAssertFalse(String(reflecting: verifier).contains(secret))
    }
}
#endif
