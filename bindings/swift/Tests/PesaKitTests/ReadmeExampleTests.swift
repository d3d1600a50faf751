// The code between the README-EXAMPLE markers is the quickstart of bindings/swift/README.md,
// character for character (scripts/package-swift checks that they are identical), so the
// README's example is compiled and run wherever the tests run.
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
}
#endif
