#if os(macOS) || os(Linux)
import Foundation
import PesaKit
import XCTest

private struct KeychainLocked: Error, CustomStringConvertible {
    var description: String { "keychain locked" }
}

/// A store whose `load` throws a plain Swift error, or whose `save` throws a
/// `PesakitError`, and that counts its saves.
private final class FailingTokenStore: TokenStore, @unchecked Sendable {
    private let failLoad: Bool
    private let lock = NSLock()
    private var saveCount = 0

    init(failLoad: Bool) {
        self.failLoad = failLoad
    }

    var saves: Int {
        lock.lock()
        defer { lock.unlock() }
        return saveCount
    }

    func load(key: String) throws -> TokenSet? {
        if failLoad {
            throw KeychainLocked()
        }
        return nil
    }

    func save(key: String, tokens: TokenSet) throws {
        lock.lock()
        saveCount += 1
        lock.unlock()
        throw PesakitError.TokenStore(
            kind: .tokenStore, summary: "disk full", status: nil, gatewayMessage: nil, gatewayCode: nil,
            body: nil, retryAfterMs: nil, idempotencyKey: nil, fieldErrors: [])
    }

    func clear(key: String) throws {}
}

/// Token persistence through a `TokenStore` written in Swift, and secrets kept out of
/// everything a Swift program can print.
final class TokenStoreTests: XCTestCase {
    private var sandbox: SandboxProcess!

    override func setUpWithError() throws {
        sandbox = try SandboxProcess()
    }

    override func tearDown() {
        sandbox?.stop()
        sandbox = nil
    }

    func testASecondClientReusesTheStoredTokens() async throws {
        let store = SerializingTokenStore()
        var first: PaypackClient? = try sandbox.client(tokenStore: store)
        _ = try await first?.profile()
        first = nil

        XCTAssertEqual(store.keys, [sandbox.tokenStoreKey()])
        let stored = try XCTUnwrap(store.storedJSON.first)
        let tokens = try TokenSet.fromJson(json: stored)
        XCTAssertGreaterThan(tokens.expiresAt(), Date())
        XCTAssertLessThanOrEqual(tokens.obtainedAt(), Date())
        XCTAssertNotNil(tokens.refreshToken())
        XCTAssertFalse(tokens.debugDescription.contains(tokens.accessToken()))

        let second = try sandbox.client(tokenStore: store)
        let profile = try await second.profile()
        XCTAssertFalse(profile.name.isEmpty)
        XCTAssertGreaterThanOrEqual(store.loads, 1)

        // One login for both clients: the second used the persisted tokens.
        let authorizations = try await sandbox.count("POST", "/auth/agents/authorize")
        XCTAssertEqual(authorizations, 1)
        let profiles = try await sandbox.count("GET", "/merchants/me")
        XCTAssertEqual(profiles, 2)
    }

    func testAThrowingStoreIsATokenStoreError() async throws {
        let locked = try sandbox.client(tokenStore: FailingTokenStore(failLoad: true))
        do {
            _ = try await locked.profile()
            XCTFail("a failing load was ignored")
        } catch let error as PesakitError {
            guard case .TokenStore = error else { return XCTFail("expected the TokenStore case, got \(error)") }
            XCTAssertEqual(error.kind, .tokenStore)
            XCTAssertTrue(error.summary.contains("keychain locked"), error.summary)
        }
        // A store that cannot load fails the call before anything is sent.
        let sent = try await sandbox.requests()
        XCTAssertEqual(sent.count, 0)

        let store = FailingTokenStore(failLoad: false)
        let full = try sandbox.client(tokenStore: store)
        do {
            _ = try await full.profile()
            XCTFail("a failing save was ignored")
        } catch let error as PesakitError {
            guard case .TokenStore = error else { return XCTFail("expected the TokenStore case, got \(error)") }
            XCTAssertTrue(error.summary.contains("disk full"), error.summary)
        }
        // The token obtained is kept in memory: the next call does not log in again.
        _ = try await full.profile()
        let authorizations = try await sandbox.count("POST", "/auth/agents/authorize")
        XCTAssertEqual(authorizations, 1)
        XCTAssertEqual(store.saves, 1)
    }

    func testTheLoggerNeverSeesASecret() async throws {
        let logger = CapturingLogger()
        let store = MemoryTokenStore()
        let key = sandbox.tokenStoreKey()
        let raw = try await sandbox.rawTokens()
        try store.save(key: key, tokens: TokenSet(
            accessToken: raw.access,
            expiresAt: Date().addingTimeInterval(-1),
            refreshToken: raw.refresh,
            obtainedAt: Date().addingTimeInterval(-900)))
        try await sandbox.clearRequests()
        let client = try sandbox.client(tokenStore: store, logger: logger, requestTimeoutMs: 300)

        // A refresh, a retried fault on the refresh route, a 401, a failed call.
        try await sandbox.fault(.object([
            ("path", .string("/paypack/api/auth/refresh/")), ("kind", .string("status")), ("status", .number("503")),
        ]))
        _ = try await client.profile()
        try await sandbox.control("POST", "/_sandbox/paypack/tokens/revoke", json: .object([("which", .string("all"))]))
        _ = try await client.profile()
        try await sandbox.fault(.object([
            ("path", .string("/paypack/api/auth/")), ("kind", .string("malformed_json")), ("count", .number("10")),
        ]))
        try await sandbox.control("POST", "/_sandbox/paypack/tokens/revoke", json: .object([("which", .string("all"))]))
        var failure: PesakitError?
        do {
            _ = try await client.profile()
        } catch let error as PesakitError {
            failure = error
        }
        let error = try XCTUnwrap(failure, "the call with broken token answers succeeded")

        let current = try XCTUnwrap(try store.load(key: key))
        let currentRefresh = try XCTUnwrap(current.refreshToken())
        let secrets = [
            raw.access, raw.refresh, current.accessToken(), currentRefresh, SandboxProcess.defaultClientSecret,
        ]
        let texts = [
            logger.text, error.summary, "\(error)", String(reflecting: error), error.errorDescription ?? "",
            error.body ?? "", client.debugDescription, current.debugDescription,
        ]
        XCTAssertTrue(logger.text.contains("token refresh failed"), logger.text)
        for text in texts {
            for secret in secrets {
                XCTAssertFalse(text.contains(secret), "a secret leaked into: \(text)")
            }
        }
    }
}
#endif
