#if os(macOS) || os(Linux)
import Foundation
import PesaKit
import XCTest

/// The Paypack client through Swift concurrency, against the emulator: the same ground as
/// the Python and Kotlin suites cover.
final class PaypackClientTests: XCTestCase {
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

    func testLibraryFunctions() throws {
        XCTAssertFalse(pesakitVersion().isEmpty)
        let key = newIdempotencyKey()
        XCTAssertEqual(key.count, 32)
        XCTAssertTrue(key.allSatisfy { $0.isHexDigit })
        XCTAssertEqual(try normalizeRwPhone(number: "+250 788 123 456"), "0788123456")
        XCTAssertThrowsError(try normalizeRwPhone(number: "12345")) { error in
            XCTAssertEqual((error as? PesakitError)?.kind, .validation, "\(error)")
        }
    }

    func testAsyncOperationsWalkATransaction() async throws {
        let client = try sandbox.client()

        let expires = try await client.authorize()
        XCTAssertGreaterThan(expires, Date())

        let profile = try await client.profile()
        XCTAssertEqual(profile.name, "Sandbox Merchant demo-client-id")
        XCTAssertEqual(profile.balance, decimal("200000"))
        XCTAssertEqual(profile.inRate, decimal("0.023"))
        XCTAssertEqual(profile.airtelInRate, decimal("0.025"))

        let pending = try await client.cashin(amount: 1000, number: "0788123456")
        XCTAssertEqual(pending.status, .pending)
        XCTAssertEqual(pending.statusRaw, "pending")
        XCTAssertEqual(pending.kind, .cashIn)
        XCTAssertEqual(pending.kindRaw, "CASHIN")
        XCTAssertEqual(pending.amount, 1000)
        XCTAssertEqual(pending.provider, "mtn")

        do {
            _ = try await client.find(reference: pending.reference)
            XCTFail("find answered before the transaction was processed")
        } catch let error as PesakitError {
            XCTAssertEqual(error.kind, .notFound)
            XCTAssertEqual(error.status, 404)
            guard case .NotFound = error else { return XCTFail("expected the NotFound case, got \(error)") }
        }

        try await sandbox.settle(pending.reference, status: "successful")
        let done = try await client.waitForCompletion(reference: pending.reference, timeout: 5)
        XCTAssertEqual(done.reference, pending.reference)
        XCTAssertEqual(done.status, .successful)
        XCTAssertEqual(done.fee, 23)
        XCTAssertEqual(done.client, "0788123456")
        XCTAssertNotNil(done.createdAt)

        let after = try await client.profile()
        XCTAssertEqual(after.balance, decimal("200977"))

        let out = try await client.cashout(
            amount: 500, number: "0721234567", idempotencyKey: "swift-out-1", webhookMode: .development)
        XCTAssertEqual(out.kind, .cashOut)
        XCTAssertEqual(out.provider, "airtel")
        let header = try await sandbox.requests(method: "POST", path: "/transactions/cashout").first?["headers"]
        XCTAssertEqual(header?["idempotency-key"]?.stringValue, "swift-out-1")
        XCTAssertEqual(header?["x-webhook-mode"]?.stringValue, "development")
    }

    func testConcurrentCallsShareOneAuthorization() async throws {
        let client = try sandbox.client()
        let names = try await withThrowingTaskGroup(of: String.self, returning: [String].self) { group in
            for _ in 0 ..< 25 {
                group.addTask { try await client.profile().name }
            }
            var all: [String] = []
            for try await name in group {
                all.append(name)
            }
            return all
        }
        XCTAssertEqual(names.count, 25)
        let authorizations = try await sandbox.count("POST", "/auth/agents/authorize")
        XCTAssertEqual(authorizations, 1)
        let profiles = try await sandbox.count("GET", "/merchants/me")
        XCTAssertEqual(profiles, 25)
    }

    func testBlockingCallsFromAPlainThread() async throws {
        let client = try sandbox.client()
        let profile = try await onBackgroundThread { try client.profileBlocking() }
        XCTAssertEqual(profile.id.count, 6)
        let transaction = try await onBackgroundThread {
            try client.cashinBlocking(request: CashRequest(amount: 250, number: "0788123456"))
        }
        XCTAssertEqual(transaction.status, .pending)
    }

    func testDecimalAmountsAndDates() async throws {
        let client = try sandbox.client()
        let before = Date()
        let pending = try await client.cashin(amount: decimal("1000.5"), number: "0788123456")
        XCTAssertEqual(pending.amount, decimal("1000.5"))
        let created = try XCTUnwrap(pending.createdAt)
        XCTAssertLessThan(abs(created.timeIntervalSince(before)), 60)

        try await sandbox.settle(pending.reference, status: "successful")
        let done = try await client.find(reference: pending.reference)
        // 1000.5 × 0.023 = 23.0115, rounded to 2 decimals by the gateway: exact, not a float.
        XCTAssertEqual(done.fee, decimal("23.01"))
        let processed = try XCTUnwrap(done.processedAt)
        XCTAssertGreaterThanOrEqual(processed, created)

        let page = try await client.listTransactions(filter: TransactionFilter(
            from: before.addingTimeInterval(-3600), to: Date().addingTimeInterval(3600)))
        XCTAssertEqual(page.total, 1)
        XCTAssertEqual(page.cashinTotal, decimal("1000.5"))
        let none = try await client.listTransactions(filter: TransactionFilter(from: Date().addingTimeInterval(3600)))
        XCTAssertEqual(none.total, 0)
        XCTAssertTrue(none.transactions.isEmpty)
    }

    func testPagersAreAsyncSequences() async throws {
        let client = try sandbox.client()
        var created: Set<String> = []
        for _ in 0 ..< 12 {
            created.insert(try await client.cashin(amount: 100, number: "0788123456").reference)
        }
        try await sandbox.clearRequests()

        var seen: [String] = []
        for try await transaction in try client.transactions(pageSize: 5) {
            seen.append(transaction.reference)
        }
        XCTAssertEqual(seen.count, 12)
        XCTAssertEqual(Set(seen), created)
        let pages = try await sandbox.count("GET", "/transactions/list")
        XCTAssertEqual(pages, 3)

        var eventIDs: Set<String> = []
        for try await event in try client.events(filter: EventFilter(limit: 5)) {
            XCTAssertEqual(event.kind, .transactionCreated)
            XCTAssertTrue(created.contains(event.transaction.reference))
            eventIDs.insert(event.id)
        }
        XCTAssertEqual(eventIDs.count, 12)

        // Standard AsyncSequence algorithms work on the pagers.
        let firstThree = try await client.transactions(kind: .cashIn, pageSize: 2).prefix(3).reduce(into: [String]()) {
            $0.append($1.reference)
        }
        XCTAssertEqual(firstThree.count, 3)
    }

    func testErrorsReadAsSentences() async throws {
        let client = try sandbox.client(clientSecret: "wrong-secret")
        do {
            _ = try await client.profile()
            XCTFail("wrong credentials were accepted")
        } catch let error as PesakitError {
            guard case .Authentication = error else { return XCTFail("expected Authentication, got \(error)") }
            XCTAssertEqual(error.kind, .authentication)
            XCTAssertEqual(error.status, 401)
            XCTAssertTrue(error.summary.contains("client id or secret was refused"), error.summary)
            // What a person sees, however they print it, is the summary.
            XCTAssertEqual(error.errorDescription, error.summary)
            XCTAssertEqual(error.localizedDescription, error.summary)
            XCTAssertEqual("\(error)", error.summary)
            XCTAssertEqual(String(describing: error), error.summary)
            XCTAssertFalse(error.summary.contains("wrong-secret"))
        }

        let good = try sandbox.client()
        do {
            _ = try await good.cashin(amount: 50, number: "0788123456")
            XCTFail("an amount below the minimum was sent")
        } catch let error as PesakitError {
            XCTAssertEqual(error.kind, .validation)
            XCTAssertNil(error.status)
            XCTAssertEqual(error.localizedDescription, error.summary)
        }
        let sent = try await sandbox.count("POST", "/transactions/cashin")
        XCTAssertEqual(sent, 0)

        try await sandbox.fault(.object([
            ("path", .string("/paypack/api/transactions/cashin")),
            ("kind", .string("status")),
            ("status", .number("500")),
        ]))
        do {
            _ = try await good.cashin(amount: 1000, number: "0788123456", idempotencyKey: "order-9")
            XCTFail("the injected 500 was not reported")
        } catch let error as PesakitError {
            XCTAssertEqual(error.kind, .gateway)
            XCTAssertEqual(error.status, 500)
            XCTAssertEqual(error.idempotencyKey, "order-9")
            XCTAssertTrue(error.summary.contains("order-9"), error.summary)
        }
    }

    func testACancelledTaskLeavesTheClientUsable() async throws {
        let client = try sandbox.client()
        _ = try await client.profile()
        try await sandbox.fault(.object([
            ("path", .string("/paypack/api/merchants/me")),
            ("kind", .string("delay")),
            ("delay_ms", .number("3000")),
        ]))
        let slow = Task { try await client.profile() }
        try await Task.sleep(nanoseconds: 200_000_000)
        slow.cancel()
        _ = try? await slow.value
        try await sandbox.control("DELETE", "/_sandbox/faults")
        let profile = try await client.profile()
        XCTAssertFalse(profile.name.isEmpty)
    }
}
#endif
