#if os(macOS) || os(Linux)
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PesaKit

/// Where the tests find the repository and the emulator: `PESAKIT_REPO` and
/// `PESAKIT_SANDBOX_BIN` (set by `scripts/test-swift`), else the checkout this file is in
/// and its `target/debug/pesakit-sandbox`.
enum TestEnvironment {
    static var repository: URL {
        if let path = ProcessInfo.processInfo.environment["PESAKIT_REPO"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        // <repo>/bindings/swift/Tests/PesaKitTests/Support/Sandbox.swift
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0 ..< 6 {
            url.deleteLastPathComponent()
        }
        return url
    }

    static var sandboxBinary: String {
        if let path = ProcessInfo.processInfo.environment["PESAKIT_SANDBOX_BIN"], !path.isEmpty {
            return path
        }
        let targetDirectory = ProcessInfo.processInfo.environment["CARGO_TARGET_DIR"]
            .map { URL(fileURLWithPath: $0, relativeTo: repository) }
            ?? repository.appendingPathComponent("target")
        return targetDirectory.appendingPathComponent("debug/pesakit-sandbox").path
    }
}

struct SandboxError: Error, CustomStringConvertible {
    let description: String
}

/// One `pesakit-sandbox` process on a free port, and a client for its control API.
final class SandboxProcess: @unchecked Sendable {
    static let defaultClientID = "demo-client-id"
    static let defaultClientSecret = "demo-client-secret"
    static let defaultWebhookSecret = "demo-webhook-secret"

    // The hosted-checkout gateway's defaults (tests/sandbox/README.md, "Hosted checkout").
    /// A client token with every scope.
    static let checkoutToken = "demo-checkout-token"
    /// A client token with `payments.get` only.
    static let limitedCheckoutToken = "demo-limited-token"
    /// The default payment application's 32-character client id.
    static let checkoutClientID = "demo0checkout0client0id000000001"
    static let checkoutWebhookSecret = "demo-checkout-webhook-secret"
    static let oauthClientID = "demo-oauth-client"
    static let oauthClientSecret = "demo-oauth-secret"
    static let oauthUsername = "demo@pesakit.dev"
    static let oauthPassword = "demo-password"

    // Paga Connect's defaults (tests/sandbox/README.md, "Paga Connect").
    static let pagaClientID = "demo-paga-client"
    static let pagaClientSecret = "demo-paga-secret"
    static let pagaRedirectURI = "https://shop.example/paga/callback"
    /// Approves every authorization: Ada Obi, `adaobi`, balance 50000 NGN.
    static let pagaUser = "demo-paga-user"
    /// Every authorization of this user ends in `access_denied`.
    static let pagaDenyingUser = "denying-paga-user"
    /// Chidi Eze's phone: the recipient of money transfers.
    static let pagaRecipientPhone = "08030000002"

    private let process: Process
    /// `http://127.0.0.1:PORT`
    let baseURL: String
    private let session: URLSession

    /// The Paypack API base URL: `http://127.0.0.1:PORT/paypack/api`.
    var paypackBaseURL: String { baseURL + "/paypack/api" }

    /// The hosted-checkout gateway's base URL: `http://127.0.0.1:PORT/checkout`.
    var checkoutBaseURL: String { baseURL + "/checkout" }

    /// Paga Connect's base URL: `http://127.0.0.1:PORT/paga`.
    var pagaBaseURL: String { baseURL + "/paga" }

    /// Starts the emulator with `--port 0 --settle-after-ms N` (0: transactions settle only
    /// through the control API) and reads its address from the first line it prints.
    init(settleAfterMs: Int = 0, arguments: [String] = []) throws {
        let binary = TestEnvironment.sandboxBinary
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw SandboxError(description:
                "the emulator \(binary) does not exist: build it with `cargo build -p pesakit-sandbox` "
                + "and set PESAKIT_SANDBOX_BIN (scripts/test-swift does both)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["--port", "0", "--settle-after-ms", String(settleAfterMs)] + arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()

        var buffer = Data()
        let newline = UInt8(ascii: "\n")
        while !buffer.contains(newline) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty {
                process.terminate()
                throw SandboxError(description: "pesakit-sandbox exited before printing its address")
            }
            buffer.append(chunk)
        }
        let line = String(decoding: buffer.prefix(while: { $0 != newline }), as: UTF8.self)
        let prefix = "pesakit-sandbox listening on "
        guard line.hasPrefix(prefix) else {
            process.terminate()
            throw SandboxError(description: "unexpected first line from pesakit-sandbox: \(line)")
        }
        self.process = process
        self.baseURL = String(line.dropFirst(prefix.count)).trimmingCharacters(in: .whitespacesAndNewlines)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.connectionProxyDictionary = [:]
        self.session = URLSession(configuration: configuration)
    }

    deinit {
        stop()
    }

    /// Stops the emulator (SIGTERM) and waits for it.
    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    // MARK: HTTP

    /// Sends `method path` (relative to the emulator's base URL) with an optional JSON body.
    func send(_ method: String, _ path: String, json body: JSON? = nil) async throws -> (status: Int, body: Data) {
        try await send(method, path, body: body.map { Data($0.compact.utf8) }, contentType: "application/json")
    }

    /// POSTs `path` with a form-encoded body (`application/x-www-form-urlencoded`), as an
    /// OAuth client does.
    func sendForm(_ path: String, form: [(String, String)]) async throws -> (status: Int, body: Data) {
        var allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._*")
        allowed.insert(" ")
        func encode(_ text: String) -> String {
            (text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text).replacingOccurrences(of: " ", with: "+")
        }
        let body = form.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
        return try await send("POST", path, body: Data(body.utf8), contentType: "application/x-www-form-urlencoded")
    }

    private func send(_ method: String, _ path: String, body: Data?, contentType: String) async throws -> (status: Int, body: Data) {
        guard let url = URL(string: baseURL + path) else {
            throw SandboxError(description: "not a URL: \(baseURL + path)")
        }
        var request = URLRequest(url: url)
        request.httpMethod = method
        if let body {
            request.httpBody = body
            request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        }
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        return try await withCheckedThrowingContinuation { continuation in
            let task = session.dataTask(with: request) { data, response, error in
                if let error {
                    continuation.resume(throwing: error)
                    return
                }
                let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                continuation.resume(returning: (status, data ?? Data()))
            }
            task.resume()
        }
    }

    /// A control-API call that must succeed (2xx); returns its JSON answer.
    @discardableResult
    func control(_ method: String, _ path: String, json body: JSON? = nil) async throws -> JSON {
        let (status, data) = try await send(method, path, json: body)
        let text = String(decoding: data, as: UTF8.self)
        guard (200 ..< 300).contains(status) else {
            throw SandboxError(description: "\(method) \(path) answered \(status): \(text)")
        }
        return try data.isEmpty ? .null : JSON.parse(data)
    }

    /// The request log, oldest first.
    func requests() async throws -> [JSON] {
        try await control("GET", "/_sandbox/requests").arrayValue ?? []
    }

    func clearRequests() async throws {
        try await control("DELETE", "/_sandbox/requests")
    }

    /// The logged requests with this method whose path starts with
    /// `/paypack/api` + `path`.
    func requests(method: String?, path: String) async throws -> [JSON] {
        try await requests(method: method, pathPrefix: "/paypack/api" + path)
    }

    /// The logged requests with this method whose path starts with `/checkout` + `path`.
    func checkoutRequests(method: String?, path: String) async throws -> [JSON] {
        try await requests(method: method, pathPrefix: "/checkout" + path)
    }

    /// The logged requests with this method (any when nil) whose path starts with `prefix`.
    func requests(method: String?, pathPrefix prefix: String) async throws -> [JSON] {
        try await requests().filter { entry in
            let methodMatches = method.map { entry["method"]?.stringValue?.uppercased() == $0.uppercased() } ?? true
            return methodMatches && (entry["path"]?.stringValue?.hasPrefix(prefix) ?? false)
        }
    }

    func count(_ method: String, _ path: String) async throws -> Int {
        try await requests(method: method, path: path).count
    }

    func settle(_ reference: String, status: String) async throws {
        try await control("POST", "/_sandbox/paypack/transactions/\(Self.pathSegment(reference))/settle",
                          json: .object([("status", .string(status))]))
    }

    func fault(_ fault: JSON) async throws {
        try await control("POST", "/_sandbox/faults", json: fault)
    }

    /// Authorizes with raw HTTP, as a gateway user would: the real access and refresh tokens.
    func rawTokens(
        clientID: String = SandboxProcess.defaultClientID,
        clientSecret: String = SandboxProcess.defaultClientSecret
    ) async throws -> (access: String, refresh: String) {
        let body = JSON.object([("client_id", .string(clientID)), ("client_secret", .string(clientSecret))])
        let (status, data) = try await send("POST", "/paypack/api/auth/agents/authorize", json: body)
        guard status == 200 else {
            throw SandboxError(description: "raw authorize answered \(status): \(String(decoding: data, as: UTF8.self))")
        }
        let answer = try JSON.parse(data)
        guard let access = answer["access"]?.stringValue, let refresh = answer["refresh"]?.stringValue else {
            throw SandboxError(description: "raw authorize answered without tokens")
        }
        return (access, refresh)
    }

    /// Moves a checkout payment to `status` (`RECEIVED`, `CONFIRMED`, …).
    func setPaymentStatus(_ paymentID: String, _ status: String) async throws {
        try await control("POST", "/_sandbox/checkout/payments/\(Self.pathSegment(paymentID))/status",
                          json: .object([("status", .string(status))]))
    }

    /// Makes every OAuth token of that type issued so far answer as expired
    /// (`access`, `refresh` or `all`).
    func expireOAuthTokens(which: String = "access") async throws {
        try await control("POST", "/_sandbox/checkout/oauth/expire", json: .object([("which", .string(which))]))
    }

    /// Signs in to the checkout gateway as its dashboard user, with the OAuth password grant
    /// over `URLSession`, as a merchant's dashboard would: the real tokens and `expires_in`.
    func checkoutSignIn(
        username: String = SandboxProcess.oauthUsername,
        password: String = SandboxProcess.oauthPassword
    ) async throws -> (access: String, refresh: String, expiresIn: TimeInterval) {
        let (status, data) = try await sendForm("/checkout/oauth/token", form: [
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
            ("client_id", Self.oauthClientID),
            ("client_secret", Self.oauthClientSecret),
        ])
        guard status == 200 else {
            throw SandboxError(description: "OAuth sign-in answered \(status): \(String(decoding: data, as: UTF8.self))")
        }
        let answer = try JSON.parse(data)
        guard let access = answer["access_token"]?.stringValue, let refresh = answer["refresh_token"]?.stringValue,
              let expiresIn = answer["expires_in"]?.intValue
        else {
            throw SandboxError(description: "OAuth sign-in answered without tokens")
        }
        return (access, refresh, TimeInterval(expiresIn))
    }

    /// The key a checkout client stores its OAuth tokens under:
    /// `checkout-oauth|{base url}|{OAuth client id}`.
    func checkoutTokenStoreKey(oauthClientID: String = SandboxProcess.oauthClientID) -> String {
        "checkout-oauth|\(checkoutBaseURL)|\(oauthClientID)"
    }

    /// The key a Paypack client stores its tokens under: `paypack|{base url}|{client id}`.
    func tokenStoreKey(clientID: String = SandboxProcess.defaultClientID) -> String {
        "paypack|\(paypackBaseURL)|\(clientID)"
    }

    /// Makes every Paga token of that type issued so far answer as expired
    /// (`access`, `refresh` or `all`).
    func expirePagaTokens(which: String = "access") async throws {
        try await control("POST", "/_sandbox/paga/tokens/expire", json: .object([("which", .string(which))]))
    }

    /// The logged requests with this method whose path starts with `/paga` + `path`.
    func pagaRequests(method: String?, path: String) async throws -> [JSON] {
        try await requests(method: method, pathPrefix: "/paga" + path)
    }

    /// The browser's part of Paga Connect: GETs the authorization URL (with
    /// `&sandbox_user=…` when given, choosing who answers) without following the redirect,
    /// and returns the `Location` Paga sends the user back to.
    func pagaRedirect(for authorizationURL: String, sandboxUser: String? = nil) async throws -> String {
        var text = authorizationURL
        if let sandboxUser {
            text += (text.contains("?") ? "&" : "?") + "sandbox_user=" + Self.pathSegment(sandboxUser)
        }
        guard let url = URL(string: text) else { throw SandboxError(description: "not a URL: \(text)") }
        let (status, location) = try await RedirectRefusingDelegate.get(url)
        guard (300 ..< 400).contains(status), let location else {
            throw SandboxError(description: "GET \(text) answered \(status) without a redirect")
        }
        return location
    }

    static func pathSegment(_ text: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    // MARK: Clients

    /// Options pointing at this emulator, with fast retries and polling for tests.
    func options(requestTimeoutMs: UInt64 = 30_000) -> PaypackOptions {
        PaypackOptions(
            baseUrl: paypackBaseURL,
            allowInsecureLoopback: true,
            requestTimeoutMs: requestTimeoutMs,
            initialBackoffMs: 10,
            maxBackoffMs: 50,
            pollIntervalMs: 20
        )
    }

    /// A client of the emulator's default application.
    func client(
        clientID: String = SandboxProcess.defaultClientID,
        clientSecret: String = SandboxProcess.defaultClientSecret,
        tokenStore: TokenStore? = nil,
        logger: PesaKit.Logger? = nil,
        requestTimeoutMs: UInt64 = 30_000
    ) throws -> PaypackClient {
        try PaypackClient(
            clientId: clientID,
            clientSecret: clientSecret,
            options: options(requestTimeoutMs: requestTimeoutMs),
            tokenStore: tokenStore,
            logger: logger
        )
    }

    /// Checkout options pointing at this emulator's default application, with fast retries.
    func checkoutOptions(
        clientID: String? = SandboxProcess.checkoutClientID,
        requestTimeoutMs: UInt64 = 30_000
    ) -> CheckoutOptions {
        CheckoutOptions(
            clientId: clientID,
            allowInsecureLoopback: true,
            requestTimeoutMs: requestTimeoutMs,
            initialBackoffMs: 10,
            maxBackoffMs: 50
        )
    }

    /// Paga options pointing at this emulator, with fast retries.
    func pagaOptions(
        tokenRequestStyle: PagaTokenRequestStyle? = nil, pkce: Bool = false
    ) -> PagaOptions {
        PagaOptions(
            environment: .custom(baseUrl: pagaBaseURL),
            tokenRequestStyle: tokenRequestStyle,
            pkce: pkce,
            allowInsecureLoopback: true,
            initialBackoffMs: 10,
            maxBackoffMs: 50
        )
    }

    /// A Paga Connect client of the emulator's OAuth client.
    func pagaClient(
        clientSecret: String = SandboxProcess.pagaClientSecret,
        tokenRequestStyle: PagaTokenRequestStyle? = nil,
        pkce: Bool = false,
        tokenStore: TokenStore? = nil,
        logger: PesaKit.Logger? = nil
    ) throws -> PagaClient {
        try PagaClient(
            clientId: SandboxProcess.pagaClientID,
            clientSecret: clientSecret,
            redirectUri: SandboxProcess.pagaRedirectURI,
            options: pagaOptions(tokenRequestStyle: tokenRequestStyle, pkce: pkce),
            tokenStore: tokenStore,
            logger: logger
        )
    }

    /// A checkout client of the emulator's default application.
    func checkoutClient(
        clientToken: String? = SandboxProcess.checkoutToken,
        webhookSecret: String? = SandboxProcess.checkoutWebhookSecret,
        oauth: CheckoutOAuth? = nil,
        tokenStore: TokenStore? = nil,
        logger: PesaKit.Logger? = nil
    ) throws -> CheckoutClient {
        try CheckoutClient(
            baseUrl: checkoutBaseURL,
            clientToken: clientToken,
            webhookSecret: webhookSecret,
            oauth: oauth,
            options: checkoutOptions(),
            tokenStore: tokenStore,
            logger: logger
        )
    }
}

// MARK: - Test doubles implemented in Swift

/// A `TokenStore` in memory, as the conformance README asks of every runner.
final class MemoryTokenStore: TokenStore, @unchecked Sendable {
    private let lock = NSLock()
    private var saved: [String: TokenSet] = [:]

    func load(key: String) throws -> TokenSet? {
        lock.lock()
        defer { lock.unlock() }
        return saved[key]
    }

    func save(key: String, tokens: TokenSet) throws {
        lock.lock()
        defer { lock.unlock() }
        saved[key] = tokens
    }

    func clear(key: String) throws {
        lock.lock()
        defer { lock.unlock() }
        saved[key] = nil
    }
}

/// A `TokenStore` that persists each token set as the JSON string `TokenSet.toJson()` gives,
/// the way a Keychain-backed store keeps one secret item per account, and counts its calls.
final class SerializingTokenStore: TokenStore, @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String: String] = [:]
    private(set) var loads = 0
    private(set) var saves = 0

    func load(key: String) throws -> TokenSet? {
        lock.lock()
        defer { lock.unlock() }
        loads += 1
        return try items[key].map { try TokenSet.fromJson(json: $0) }
    }

    func save(key: String, tokens: TokenSet) throws {
        lock.lock()
        defer { lock.unlock() }
        saves += 1
        items[key] = tokens.toJson()
    }

    func clear(key: String) throws {
        lock.lock()
        defer { lock.unlock() }
        items[key] = nil
    }

    var keys: [String] {
        lock.lock()
        defer { lock.unlock() }
        return Array(items.keys)
    }

    var storedJSON: [String] {
        lock.lock()
        defer { lock.unlock() }
        return Array(items.values)
    }
}

/// A `Logger` that keeps every line.
final class CapturingLogger: PesaKit.Logger, @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    func log(level: LogLevel, message: String) throws {
        lock.lock()
        defer { lock.unlock() }
        lines.append("\(level): \(message)")
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return lines.joined(separator: "\n")
    }
}

/// A `URLSessionTaskDelegate` that refuses every redirect (`completionHandler(nil)`), so
/// the task ends with the 3xx answer itself, as a browser's first hop. Tasks are created
/// without a completion handler: swift-corelibs-foundation asks the delegate about
/// redirects only then.
final class RedirectRefusingDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<(Int, String?), Error>?

    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void
    ) {
        completionHandler(nil)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {}

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        lock.lock()
        let continuation = self.continuation
        self.continuation = nil
        lock.unlock()
        if let error {
            continuation?.resume(throwing: error)
            return
        }
        let response = task.response as? HTTPURLResponse
        let location = response?.allHeaderFields.first(where: {
            ($0.key as? String)?.lowercased() == "location"
        })?.value as? String
        continuation?.resume(returning: (response?.statusCode ?? 0, location))
    }

    /// GETs `url` without following a redirect: the status and the `Location` header.
    static func get(_ url: URL) async throws -> (status: Int, location: String?) {
        let delegate = RedirectRefusingDelegate()
        let configuration = URLSessionConfiguration.ephemeral
        configuration.connectionProxyDictionary = [:]
        let session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        return try await withCheckedThrowingContinuation { continuation in
            delegate.lock.lock()
            delegate.continuation = continuation
            delegate.lock.unlock()
            session.dataTask(with: url).resume()
        }
    }
}

/// Runs a blocking call on a thread of its own, away from Swift concurrency's pool.
func onBackgroundThread<T>(_ body: @escaping () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            do {
                continuation.resume(returning: try body())
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }
}
#endif
