#if os(macOS) || os(Linux)
import Foundation
import PesaKit
import XCTest

/// Runs every `tests/conformance/paypack/*.json`, `tests/conformance/checkout/*.json` and
/// `tests/conformance/paga/*.json` scenario through the Swift binding, exactly as
/// `tests/conformance/README.md` specifies (checkout: its "Hosted checkout scenarios"
/// section; Paga: "Paga Connect scenarios"): a fresh emulator per scenario, a
/// Swift `TokenStore` in memory, the async API (the blocking one where a step says
/// `"blocking": true`), over real HTTP. `PESAKIT_SCENARIO=name` runs one scenario only.
final class ConformanceTests: XCTestCase {
    func testEveryPaypackScenario() async throws {
        try await runScenarios(in: "paypack", gateway: .paypack)
    }

    func testEveryCheckoutScenario() async throws {
        try await runScenarios(in: "checkout", gateway: .checkout)
    }

    func testEveryPagaScenario() async throws {
        try await runScenarios(in: "paga", gateway: .paga)
    }

    private func runScenarios(in folder: String, gateway: Gateway) async throws {
        let directory = TestEnvironment.repository.appendingPathComponent("tests/conformance/\(folder)")
        var files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".json") }
            .sorted()
        if let only = ProcessInfo.processInfo.environment["PESAKIT_SCENARIO"], !only.isEmpty {
            files = files.filter { $0 == only || $0 == only + ".json" }
            if files.isEmpty { return }  // the scenario is in the other folder
        }
        XCTAssertFalse(files.isEmpty, "no conformance scenario found in \(directory.path)")

        var failed: [String] = []
        for file in files {
            let started = Date()
            do {
                let scenario = try JSON.parse(Data(contentsOf: directory.appendingPathComponent(file)))
                let sandbox = try SandboxProcess()
                defer { sandbox.stop() }
                let runner = try await ScenarioRunner(scenario: scenario, sandbox: sandbox, gateway: gateway)
                try await runner.run()
                print("conformance \(folder)/\(file): ok (\(Int(Date().timeIntervalSince(started) * 1000)) ms)")
            } catch {
                failed.append(file)
                XCTFail("conformance \(folder)/\(file): \(error)")
            }
        }
        print("conformance \(folder): \(files.count - failed.count) of \(files.count) scenarios passed"
            + (failed.isEmpty ? "" : "; failed: \(failed.joined(separator: ", "))"))
    }
}

struct ScenarioFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// The gateway a scenario exercises (its `"gateway"`; Paypack when absent).
enum Gateway: String {
    case paypack
    case checkout
    case paga

    /// Where the gateway lives on the emulator: `assert` paths are below it.
    var pathPrefix: String {
        switch self {
        case .paypack: return "/paypack/api"
        case .checkout: return "/checkout"
        case .paga: return "/paga"
        }
    }
}

/// The client a scenario drives.
enum ScenarioClient: Sendable {
    case paypack(PaypackClient)
    case checkout(CheckoutClient)
    case paga(PagaClient)
}

/// How the runner builds its client (again for `new_client`, with the same store).
private enum ClientRecipe {
    case paypack(clientID: String, clientSecret: String, options: PaypackOptions)
    case checkout(baseURL: String, clientToken: String, options: CheckoutOptions, oauth: CheckoutOAuth?)
    case paga(options: PagaOptions)

    func make(store: TokenStore) throws -> ScenarioClient {
        switch self {
        case let .paypack(clientID, clientSecret, options):
            return .paypack(try PaypackClient(
                clientId: clientID, clientSecret: clientSecret, options: options, tokenStore: store, logger: nil))
        case let .checkout(baseURL, clientToken, options, oauth):
            return .checkout(try CheckoutClient(
                baseUrl: baseURL, clientToken: clientToken,
                webhookSecret: SandboxProcess.checkoutWebhookSecret, oauth: oauth, options: options,
                tokenStore: store, logger: nil))
        case let .paga(options):
            return .paga(try PagaClient(
                clientId: SandboxProcess.pagaClientID, clientSecret: SandboxProcess.pagaClientSecret,
                redirectUri: SandboxProcess.pagaRedirectURI, options: options, tokenStore: store, logger: nil))
        }
    }
}

/// Executes one scenario's steps against its emulator.
final class ScenarioRunner {
    private let scenario: JSON
    private let sandbox: SandboxProcess
    private let gateway: Gateway
    private let store: MemoryTokenStore
    private let recipe: ClientRecipe
    private var client: ScenarioClient
    private var saved: [String: JSON] = [:]

    /// `gateway` is the folder's; a scenario's own `"gateway"` must agree with it.
    init(scenario: JSON, sandbox: SandboxProcess, gateway folderGateway: Gateway = .paypack) async throws {
        self.scenario = scenario
        self.sandbox = sandbox
        var gateway = folderGateway
        if let declared = scenario["gateway"] {
            guard let name = declared.stringValue, let named = Gateway(rawValue: name) else {
                throw ScenarioFailure("unknown gateway \(declared)")
            }
            guard named == folderGateway else {
                throw ScenarioFailure("a \(name) scenario in the \(folderGateway.rawValue) folder")
            }
            gateway = named
        }
        self.gateway = gateway
        let store = MemoryTokenStore()
        self.store = store
        if let config = scenario["sandbox"] {
            try await sandbox.control("POST", "/_sandbox/\(gateway.rawValue)/config", json: config)
        }
        let recipe: ClientRecipe
        switch gateway {
        case .paypack: recipe = try ScenarioRunner.paypackRecipe(scenario, sandbox)
        case .checkout: recipe = try await ScenarioRunner.checkoutRecipe(scenario, sandbox)
        case .paga: recipe = try ScenarioRunner.pagaRecipe(scenario, sandbox)
        }
        self.recipe = recipe
        self.client = try recipe.make(store: store)
    }

    /// A Paypack client: the emulator's default application unless `"client"` says otherwise.
    private static func paypackRecipe(_ scenario: JSON, _ sandbox: SandboxProcess) throws -> ClientRecipe {
        var clientID = SandboxProcess.defaultClientID
        var clientSecret = SandboxProcess.defaultClientSecret
        var options = PaypackOptions(
            baseUrl: sandbox.paypackBaseURL,
            allowInsecureLoopback: true,
            initialBackoffMs: 10,
            maxBackoffMs: 50,
            pollIntervalMs: 20
        )
        if case let .object(members)? = scenario["client"] {
            for (key, value) in members {
                func milliseconds() throws -> UInt64 {
                    guard let number = value.uint64Value else {
                        throw ScenarioFailure("client.\(key) must be a non-negative integer, not \(value)")
                    }
                    return number
                }
                switch key {
                case "client_id": clientID = try ScenarioRunner.string(value, "client.client_id")
                case "client_secret": clientSecret = try ScenarioRunner.string(value, "client.client_secret")
                case "request_timeout_ms": options.requestTimeoutMs = try milliseconds()
                case "connect_timeout_ms": options.connectTimeoutMs = try milliseconds()
                case "max_retries":
                    guard let retries = value.uint64Value, retries <= UInt64(UInt32.max) else {
                        throw ScenarioFailure("client.max_retries must be a non-negative integer")
                    }
                    options.maxRetries = UInt32(retries)
                case "initial_backoff_ms": options.initialBackoffMs = try milliseconds()
                case "max_backoff_ms": options.maxBackoffMs = try milliseconds()
                case "max_retry_after_ms": options.maxRetryAfterMs = try milliseconds()
                case "refresh_skew_ms": options.refreshSkewMs = try milliseconds()
                case "poll_interval_ms": options.pollIntervalMs = try milliseconds()
                case "webhook_mode": options.webhookMode = try ScenarioRunner.webhookMode(value)
                default: throw ScenarioFailure("unknown client option '\(key)'")
                }
            }
        }
        return .paypack(clientID: clientID, clientSecret: clientSecret, options: options)
    }

    /// A checkout client of the emulator's default application (client token
    /// `demo-checkout-token` unless `"client"` says otherwise), signed in first with the OAuth
    /// password grant when the scenario has `"oauth": true`.
    private static func checkoutRecipe(_ scenario: JSON, _ sandbox: SandboxProcess) async throws -> ClientRecipe {
        var clientToken = SandboxProcess.checkoutToken
        var options = CheckoutOptions(
            clientId: SandboxProcess.checkoutClientID,
            allowInsecureLoopback: true,
            initialBackoffMs: 10,
            maxBackoffMs: 50
        )
        if case let .object(members)? = scenario["client"] {
            for (key, value) in members {
                func milliseconds() throws -> UInt64 {
                    guard let number = value.uint64Value else {
                        throw ScenarioFailure("client.\(key) must be a non-negative integer, not \(value)")
                    }
                    return number
                }
                switch key {
                case "client_token": clientToken = try ScenarioRunner.string(value, "client.client_token")
                case "client_id": options.clientId = try ScenarioRunner.string(value, "client.client_id")
                case "request_timeout_ms": options.requestTimeoutMs = try milliseconds()
                case "connect_timeout_ms": options.connectTimeoutMs = try milliseconds()
                case "max_retries":
                    guard let retries = value.uint64Value, retries <= UInt64(UInt32.max) else {
                        throw ScenarioFailure("client.max_retries must be a non-negative integer")
                    }
                    options.maxRetries = UInt32(retries)
                case "initial_backoff_ms": options.initialBackoffMs = try milliseconds()
                case "max_backoff_ms": options.maxBackoffMs = try milliseconds()
                case "max_retry_after_ms": options.maxRetryAfterMs = try milliseconds()
                case "refresh_skew_ms": options.refreshSkewMs = try milliseconds()
                default: throw ScenarioFailure("unknown checkout client option '\(key)'")
                }
            }
        }
        var oauth: CheckoutOAuth?
        if let flag = scenario["oauth"] {
            guard let signIn = flag.boolValue else { throw ScenarioFailure("oauth must be true or false") }
            if signIn {
                let tokens = try await sandbox.checkoutSignIn()
                oauth = try CheckoutOAuth(
                    accessToken: tokens.access, clientId: SandboxProcess.oauthClientID,
                    refreshToken: tokens.refresh, clientSecret: SandboxProcess.oauthClientSecret)
            }
        }
        return .checkout(baseURL: sandbox.checkoutBaseURL, clientToken: clientToken, options: options, oauth: oauth)
    }

    /// A Paga Connect client of the emulator's OAuth client (`demo-paga-client`), redirecting
    /// to `https://shop.example/paga/callback`, with the fast retry defaults; `"client"` may
    /// set `pkce` and `token_request_style` (`form_body`, `query_string`).
    private static func pagaRecipe(_ scenario: JSON, _ sandbox: SandboxProcess) throws -> ClientRecipe {
        var options = PagaOptions(
            environment: .custom(baseUrl: sandbox.pagaBaseURL),
            tokenRequestStyle: .formBody,
            allowInsecureLoopback: true,
            initialBackoffMs: 10,
            maxBackoffMs: 50
        )
        if case let .object(members)? = scenario["client"] {
            for (key, value) in members {
                switch key {
                case "pkce":
                    guard let flag = value.boolValue else { throw ScenarioFailure("client.pkce must be true or false") }
                    options.pkce = flag
                case "token_request_style":
                    switch value.stringValue {
                    case "form_body"?: options.tokenRequestStyle = .formBody
                    case "query_string"?: options.tokenRequestStyle = .queryString
                    default:
                        throw ScenarioFailure("client.token_request_style must be form_body or query_string, not \(value)")
                    }
                default: throw ScenarioFailure("unknown paga client option '\(key)'")
                }
            }
        }
        return .paga(options: options)
    }

    func run() async throws {
        guard let steps = scenario["steps"]?.arrayValue, !steps.isEmpty else {
            throw ScenarioFailure("the scenario has no steps")
        }
        for (index, rawStep) in steps.enumerated() {
            let stepLabel = "step \(index + 1) \(Self.label(rawStep))"
            do {
                let step = try resolve(rawStep)
                try await runStep(step)
            } catch let failure as ScenarioFailure {
                throw ScenarioFailure("\(stepLabel): \(failure.description)")
            } catch {
                throw ScenarioFailure("\(stepLabel): \(Self.describe(error))")
            }
        }
    }

    private static func label(_ step: JSON) -> String {
        for key in ["call", "control", "assert"] {
            if let name = step[key]?.stringValue { return "(\(key) \(name))" }
        }
        if step["webhook"] != nil { return "(webhook \(step["webhook"]?["signature"]?.stringValue ?? "?"))" }
        if step["new_client"] != nil { return "(new_client)" }
        if let user = step["connect"]?["user"]?.stringValue { return "(connect \(user))" }
        return step.compact
    }

    // MARK: References

    /// Replaces every string `"$name.field…"` whose `name` was saved with that saved value
    /// (except in `matches`, which is a regular expression). Any other string starting with
    /// `$` (`"$100.00"`, a formatted amount) is literal.
    private func resolve(_ value: JSON) throws -> JSON {
        switch value {
        case let .string(text) where text.hasPrefix("$"):
            let parts = text.dropFirst().split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard let first = parts.first, var current = saved[first] else {
                return value
            }
            for part in parts.dropFirst() {
                if let item = current[part] {
                    current = item
                } else if let position = Int(part), let items = current.arrayValue, items.indices.contains(position) {
                    current = items[position]
                } else {
                    throw ScenarioFailure("\(text): no '\(part)' in \(current)")
                }
            }
            return current
        case let .array(items):
            return .array(try items.map { try resolve($0) })
        case let .object(members):
            var resolved: [(String, JSON)] = []
            for (key, member) in members {
                if key == "matches" {
                    resolved.append((key, member))
                } else {
                    let value = try resolve(member)
                    resolved.append((key, value))
                }
            }
            return .object(resolved)
        default:
            return value
        }
    }

    // MARK: Steps

    private func runStep(_ step: JSON) async throws {
        if let call = step["call"]?.stringValue {
            try await runCall(call, step)
        } else if let control = step["control"]?.stringValue {
            try await runControl(control, step)
        } else if let check = step["assert"]?.stringValue {
            try await runAssert(check, step)
        } else if let webhook = step["webhook"] {
            try runWebhook(webhook, step)
        } else if step["new_client"] != nil {
            client = try recipe.make(store: store)
        } else if let connect = step["connect"] {
            try await runConnect(connect, step)
        } else {
            throw ScenarioFailure("a step needs one of call, control, assert, webhook, new_client, connect")
        }
    }

    /// The browser's part of Paga Connect: `authorization_url(scopes, user_data)`, a GET of
    /// that URL (`&sandbox_user=…` appended when given) without following redirects, then
    /// `handle_callback(Location, authorization, user)` — with `"state": "forged"`, against a
    /// second, fresh authorization instead.
    private func runConnect(_ connect: JSON, _ step: JSON) async throws {
        guard case let .paga(paga) = client else { throw ScenarioFailure("connect needs a Paga client") }
        try Self.allowOnly(["user", "scopes", "user_data", "sandbox_user", "state"], in: connect, "connect")
        let user = try Self.requiredString(connect, "user")
        let scopes = try Self.stringList(connect, "scopes") ?? []
        let userData = try Self.stringList(connect, "user_data") ?? []
        let sandboxUser = try Self.optionalString(connect, "sandbox_user")
        let forged: Bool
        switch try Self.optionalString(connect, "state") ?? "valid" {
        case "valid": forged = false
        case "forged": forged = true
        case let other: throw ScenarioFailure("connect.state must be valid or forged, not \(other)")
        }
        let authorization = paga.authorizationUrl(scopes: scopes, userData: userData)
        let location = try await sandbox.pagaRedirect(for: authorization.url(), sandboxUser: sandboxUser)
        let checked = forged ? paga.authorizationUrl(scopes: scopes, userData: userData) : authorization
        let outcome: Result<JSON, Error>
        do {
            let grant = try await paga.handleCallback(callbackUrl: location, authorization: checked, user: user)
            outcome = .success(Canonical.pagaGrant(grant))
        } catch {
            outcome = .failure(error)
        }
        try check(outcome, step)
        if let name = step["save"]?.stringValue, case let .success(result) = outcome {
            saved[name] = result
        }
    }

    private func runCall(_ call: String, _ step: JSON) async throws {
        let args = step["args"] ?? .object([])
        let concurrency = step["concurrency"]?.intValue ?? 1
        let repetitions = step["repeat"]?.intValue ?? 1
        let blocking = step["blocking"]?.boolValue ?? false
        guard concurrency >= 1, repetitions >= 1 else {
            throw ScenarioFailure("concurrency and repeat must be at least 1")
        }
        let client = self.client
        var last: JSON?
        for repetition in 0 ..< repetitions {
            let outcomes: [Result<JSON, Error>]
            if concurrency == 1 {
                let single = await Self.outcome(client, call, args, blocking: blocking)
                outcomes = [single]
            } else {
                outcomes = await withTaskGroup(of: Result<JSON, Error>.self, returning: [Result<JSON, Error>].self) { group in
                    for _ in 0 ..< concurrency {
                        group.addTask {
                            await ScenarioRunner.outcome(client, call, args, blocking: blocking)
                        }
                    }
                    var all: [Result<JSON, Error>] = []
                    for await outcome in group {
                        all.append(outcome)
                    }
                    return all
                }
            }
            for (index, outcome) in outcomes.enumerated() {
                do {
                    try check(outcome, step)
                } catch let failure as ScenarioFailure {
                    var which: [String] = []
                    if repetitions > 1 { which.append("repetition \(repetition + 1) of \(repetitions)") }
                    if concurrency > 1 { which.append("call \(index + 1) of \(concurrency)") }
                    throw which.isEmpty ? failure : ScenarioFailure("\(which.joined(separator: ", ")): \(failure)")
                }
                if last == nil || concurrency == 1, case let .success(result) = outcome {
                    last = result
                }
            }
        }
        if let name = step["save"]?.stringValue {
            guard let last else { throw ScenarioFailure("nothing to save as '\(name)'") }
            saved[name] = last
        }
    }

    /// Checks an outcome against the step's `expect` / `expect_error` (neither: success).
    private func check(_ outcome: Result<JSON, Error>, _ step: JSON) throws {
        let expect = step["expect"]
        let expectError = step["expect_error"]
        switch outcome {
        case let .success(result):
            if let expectError {
                throw ScenarioFailure("expected an error matching \(expectError), but it succeeded with \(result)")
            }
            if let expect, let problem = JSON.mismatch(expected: expect, actual: result, at: "result") {
                throw ScenarioFailure(problem)
            }
        case let .failure(error):
            guard let expectError else {
                throw ScenarioFailure("expected success, got \(Self.describe(error))")
            }
            guard let pesakitError = error as? PesakitError else {
                throw ScenarioFailure("expected a PesakitError, got \(Self.describe(error))")
            }
            let canonical = Canonical.error(pesakitError)
            if let fragment = expectError["summary_contains"] {
                guard let text = fragment.stringValue else {
                    throw ScenarioFailure("summary_contains must be a string")
                }
                guard pesakitError.summary.contains(text) else {
                    throw ScenarioFailure("summary \"\(pesakitError.summary)\" does not contain \"\(text)\"")
                }
            }
            if let problem = JSON.mismatch(
                expected: expectError.removing("summary_contains"), actual: canonical, at: "error") {
                throw ScenarioFailure(problem)
            }
        }
    }

    static func describe(_ error: Error) -> String {
        if let pesakitError = error as? PesakitError {
            return "PesakitError \(Canonical.error(pesakitError))"
        }
        return "\(type(of: error)): \(error)"
    }

    private static func outcome(
        _ client: ScenarioClient, _ call: String, _ args: JSON, blocking: Bool
    ) async -> Result<JSON, Error> {
        do {
            return .success(try await perform(client, call, args, blocking: blocking))
        } catch {
            return .failure(error)
        }
    }

    /// The async call, or the blocking one (on a thread of its own) when `blocking`.
    private static func either<T>(
        _ blocking: Bool, _ blockingCall: @escaping () throws -> T, _ asyncCall: () async throws -> T
    ) async throws -> T {
        if blocking {
            return try await onBackgroundThread(blockingCall)
        }
        return try await asyncCall()
    }

    // MARK: Calls

    private static func perform(
        _ client: ScenarioClient, _ call: String, _ args: JSON, blocking: Bool
    ) async throws -> JSON {
        switch client {
        case let .paypack(paypack):
            return try await performPaypack(paypack, call, args, blocking: blocking)
        case let .checkout(checkout):
            return try await performCheckout(checkout, call, args, blocking: blocking)
        case let .paga(paga):
            return try await performPaga(paga, call, args, blocking: blocking)
        }
    }

    private static func performPaypack(
        _ client: PaypackClient, _ call: String, _ args: JSON, blocking: Bool
    ) async throws -> JSON {
        switch call {
        case "authorize":
            try allowOnly([], in: args, call)
            let expires = try await either(blocking, { try client.authorizeBlocking() }, { try await client.authorize() })
            return .object([("expires_in_future", .bool(expires > Date()))])

        case "profile":
            try allowOnly([], in: args, call)
            let profile = try await either(blocking, { try client.profileBlocking() }, { try await client.profile() })
            return Canonical.profile(profile)

        case "cashin", "cashout":
            try allowOnly(["amount", "number", "idempotency_key", "webhook_mode", "validate"], in: args, call)
            let request = CashRequest(
                amount: try decimal(args, "amount"),
                number: try requiredString(args, "number"),
                idempotencyKey: try optionalString(args, "idempotency_key"),
                webhookMode: try args["webhook_mode"].map { try webhookMode($0) },
                validate: try optionalBool(args, "validate") ?? true
            )
            let transaction: Transaction
            if call == "cashin" {
                transaction = try await either(
                    blocking, { try client.cashinBlocking(request: request) }, { try await client.cashin(request: request) })
            } else {
                transaction = try await either(
                    blocking, { try client.cashoutBlocking(request: request) }, { try await client.cashout(request: request) })
            }
            return Canonical.transaction(transaction)

        case "find":
            try allowOnly(["reference"], in: args, call)
            let reference = try requiredString(args, "reference")
            let transaction = try await either(
                blocking, { try client.findBlocking(reference: reference) }, { try await client.find(reference: reference) })
            return Canonical.transaction(transaction)

        case "wait_for_completion":
            try allowOnly(["reference", "timeout_ms"], in: args, call)
            let reference = try requiredString(args, "reference")
            guard let timeout = args["timeout_ms"]?.uint64Value else {
                throw ScenarioFailure("wait_for_completion needs timeout_ms")
            }
            let transaction = try await either(
                blocking,
                { try client.waitForCompletionBlocking(reference: reference, timeoutMs: timeout) },
                { try await client.waitForCompletion(reference: reference, timeoutMs: timeout) })
            return Canonical.transaction(transaction)

        case "list_transactions":
            let filter = try transactionFilter(args, call)
            let page = try await either(
                blocking, { try client.listTransactionsBlocking(filter: filter) },
                { try await client.listTransactions(filter: filter) })
            return Canonical.transactionPage(page)

        case "list_events":
            let filter = try eventFilter(args, call)
            let page = try await either(
                blocking, { try client.listEventsBlocking(filter: filter) }, { try await client.listEvents(filter: filter) })
            return Canonical.eventPage(page)

        case "transactions":
            let pager = try client.transactions(filter: try transactionFilter(args, call))
            var references: [String] = []
            if blocking {
                references = try await onBackgroundThread { () throws -> [String] in
                    var all: [String] = []
                    while let transaction = try pager.nextBlocking() {
                        all.append(transaction.reference)
                    }
                    return all
                }
            } else {
                for try await transaction in pager {
                    references.append(transaction.reference)
                }
            }
            return Canonical.pager(references)

        case "events":
            let pager = try client.events(filter: try eventFilter(args, call))
            var ids: [String] = []
            if blocking {
                ids = try await onBackgroundThread { () throws -> [String] in
                    var all: [String] = []
                    while let event = try pager.nextBlocking() {
                        all.append(event.id)
                    }
                    return all
                }
            } else {
                for try await event in pager {
                    ids.append(event.id)
                }
            }
            return Canonical.pager(ids)

        default:
            throw ScenarioFailure("unknown call '\(call)'")
        }
    }

    private static func performCheckout(
        _ client: CheckoutClient, _ call: String, _ args: JSON, blocking: Bool
    ) async throws -> JSON {
        switch call {
        case "create_checkout":
            try allowOnly([
                "amount", "currency", "reference", "reference_label", "redirect_url", "expires_at", "product_id",
                "settlement_currency", "site_id", "exponent",
            ], in: args, call)
            let request = CheckoutRequest(
                amount: try decimal(args, "amount"),
                currency: try requiredString(args, "currency"),
                reference: try requiredString(args, "reference"),
                referenceLabel: try optionalString(args, "reference_label"),
                redirectUrl: try optionalString(args, "redirect_url"),
                expiresAt: try date(args, "expires_at"),
                productId: try optionalString(args, "product_id"),
                settlementCurrency: try optionalString(args, "settlement_currency"),
                siteId: try optionalString(args, "site_id"),
                exponent: try optionalUInt64(args, "exponent").map { value -> UInt32 in
                    guard value <= UInt64(UInt32.max) else { throw ScenarioFailure("exponent is too large") }
                    return UInt32(value)
                }
            )
            let checkout = try await either(
                blocking, { try client.createCheckoutBlocking(request: request) },
                { try await client.createCheckout(request: request) })
            return Canonical.checkout(checkout)

        case "get_payment":
            try allowOnly(["id"], in: args, call)
            let id = try requiredString(args, "id")
            let payment = try await either(
                blocking, { try client.getPaymentBlocking(id: id) }, { try await client.getPayment(id: id) })
            return Canonical.payment(payment)

        case "payer_instructions":
            try allowOnly(["payment_id", "provider", "method"], in: args, call)
            let paymentID = try requiredString(args, "payment_id")
            let provider = try requiredString(args, "provider")
            let method = try requiredString(args, "method")
            let text = try await either(
                blocking,
                { try client.payerInstructionsBlocking(paymentId: paymentID, provider: provider, method: method) },
                { try await client.payerInstructions(paymentId: paymentID, provider: provider, method: method) })
            return try JSON.parse(text)

        case "payment_applications":
            try allowOnly([], in: args, call)
            let applications = try await either(
                blocking, { try client.paymentApplicationsBlocking() }, { try await client.paymentApplications() })
            return .object([
                ("count", JSON.from(applications.count)),
                ("names", .array(applications.map { JSON.string($0.name) })),
            ])

        case "payment_application":
            try allowOnly(["id"], in: args, call)
            let id = try requiredString(args, "id")
            let application = try await either(
                blocking, { try client.paymentApplicationBlocking(id: id) },
                { try await client.paymentApplication(id: id) })
            return Canonical.application(application)

        case "create_payment_application":
            try allowOnly([
                "name", "secret", "url", "callback_url", "currency_whitelist", "allow_underpay", "allow_overpay",
            ], in: args, call)
            let secret = try requiredString(args, "secret")
            let app = NewPaymentApplication(
                name: try requiredString(args, "name"),
                url: try optionalString(args, "url"),
                callbackUrl: try optionalString(args, "callback_url"),
                currencyWhitelist: try stringList(args, "currency_whitelist") ?? [],
                allowUnderpay: try optionalBool(args, "allow_underpay"),
                allowOverpay: try optionalBool(args, "allow_overpay")
            )
            let application = try await either(
                blocking, { try client.createPaymentApplicationBlocking(app: app, secret: secret) },
                { try await client.createPaymentApplication(app: app, secret: secret) })
            return Canonical.application(application)

        default:
            throw ScenarioFailure("unknown checkout call '\(call)'")
        }
    }

    private static func performPaga(
        _ client: PagaClient, _ call: String, _ args: JSON, blocking: Bool
    ) async throws -> JSON {
        switch call {
        case "user_details":
            try allowOnly(["user"], in: args, call)
            let user = try requiredString(args, "user")
            let details = try await either(
                blocking, { try client.userDetailsBlocking(user: user) }, { try await client.userDetails(user: user) })
            return .object([
                ("first_name", JSON.from(details.firstName)),
                ("username", JSON.from(details.username)),
                ("account_balance", Canonical.amount(details.accountBalance)),
            ])

        case "merchant_payment":
            try allowOnly(
                ["user", "reference_number", "amount", "customer_reference", "product_code", "currency"], in: args, call)
            let user = try requiredString(args, "user")
            let request = PagaMerchantPaymentRequest(
                referenceNumber: try requiredString(args, "reference_number"),
                amount: try decimal(args, "amount"),
                customerReference: try requiredString(args, "customer_reference"),
                productCode: try optionalString(args, "product_code"),
                currency: try optionalString(args, "currency")
            )
            let result = try await either(
                blocking, { try client.merchantPaymentBlocking(user: user, request: request) },
                { try await client.merchantPayment(user: user, request: request) })
            return .object([
                ("has_transaction_id", .bool(result.transactionId != nil)),
                ("amount", Canonical.amount(result.amount)),
                ("fee", Canonical.amount(result.fee)),
            ])

        case "money_transfer":
            try allowOnly(["user", "reference_number", "amount", "recipient", "skip_messaging"], in: args, call)
            let user = try requiredString(args, "user")
            let request = PagaMoneyTransferRequest(
                referenceNumber: try requiredString(args, "reference_number"),
                amount: try decimal(args, "amount"),
                recipient: try requiredString(args, "recipient"),
                skipMessaging: try optionalBool(args, "skip_messaging") ?? false
            )
            let result = try await either(
                blocking, { try client.moneyTransferBlocking(user: user, request: request) },
                { try await client.moneyTransfer(user: user, request: request) })
            return .object([
                ("has_transaction_id", .bool(result.transactionId != nil)),
                ("amount", Canonical.amount(result.amount)),
            ])

        case "one_time_token":
            try allowOnly(["user", "reference_number"], in: args, call)
            let user = try requiredString(args, "user")
            let reference = try requiredString(args, "reference_number")
            let text = try await either(
                blocking, { try client.oneTimeTokenBlocking(user: user, referenceNumber: reference) },
                { try await client.oneTimeToken(user: user, referenceNumber: reference) })
            let isObject: Bool
            if case .object? = try? JSON.parse(text) { isObject = true } else { isObject = false }
            return .object([("is_object", .bool(isObject))])

        default:
            throw ScenarioFailure("unknown paga call '\(call)'")
        }
    }

    // MARK: Arguments

    private static func allowOnly(_ keys: [String], in args: JSON, _ call: String) throws {
        guard case let .object(members) = args else {
            throw ScenarioFailure("args of \(call) must be an object")
        }
        for (key, _) in members where !keys.contains(key) {
            throw ScenarioFailure("unknown argument '\(key)' for \(call)")
        }
    }

    static func string(_ value: JSON, _ what: String) throws -> String {
        guard let text = value.stringValue else { throw ScenarioFailure("\(what) must be a string, not \(value)") }
        return text
    }

    private static func requiredString(_ args: JSON, _ key: String) throws -> String {
        guard let value = args[key] else { throw ScenarioFailure("missing argument '\(key)'") }
        return try string(value, key)
    }

    private static func optionalString(_ args: JSON, _ key: String) throws -> String? {
        guard let value = args[key], !value.isNull else { return nil }
        return try string(value, key)
    }

    private static func optionalBool(_ args: JSON, _ key: String) throws -> Bool? {
        guard let value = args[key], !value.isNull else { return nil }
        guard let flag = value.boolValue else { throw ScenarioFailure("\(key) must be true or false") }
        return flag
    }

    private static func stringList(_ args: JSON, _ key: String) throws -> [String]? {
        guard let value = args[key], !value.isNull else { return nil }
        guard let items = value.arrayValue else { throw ScenarioFailure("\(key) must be a list of strings") }
        return try items.map { try string($0, key) }
    }

    private static func optionalUInt64(_ args: JSON, _ key: String) throws -> UInt64? {
        guard let value = args[key], !value.isNull else { return nil }
        guard let number = value.uint64Value else { throw ScenarioFailure("\(key) must be a non-negative integer") }
        return number
    }

    /// An amount: a decimal string (or a JSON number, read from its literal text).
    private static func decimal(_ args: JSON, _ key: String) throws -> Decimal {
        let text: String
        switch args[key] {
        case let .string(value)?: text = value
        case let .number(value)?: text = value
        default: throw ScenarioFailure("missing decimal argument '\(key)'")
        }
        guard let amount = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) else {
            throw ScenarioFailure("\(key) is not a decimal: \(text)")
        }
        return amount
    }

    private static func date(_ args: JSON, _ key: String) throws -> Date? {
        guard let value = args[key], !value.isNull else { return nil }
        let text = try string(value, key)
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        throw ScenarioFailure("\(key) is not an RFC 3339 instant: \(text)")
    }

    static func webhookMode(_ value: JSON) throws -> WebhookMode {
        switch value.stringValue {
        case "development"?: return .development
        case "production"?: return .production
        default: throw ScenarioFailure("webhook_mode must be development or production, not \(value)")
        }
    }

    private static func transactionKind(_ args: JSON) throws -> TransactionKind? {
        guard let value = args["kind"], !value.isNull else { return nil }
        switch value.stringValue {
        case "cash_in"?: return .cashIn
        case "cash_out"?: return .cashOut
        default: throw ScenarioFailure("kind must be cash_in or cash_out, not \(value)")
        }
    }

    private static func transactionStatus(_ args: JSON) throws -> TransactionStatus? {
        guard let value = args["status"], !value.isNull else { return nil }
        switch value.stringValue {
        case "pending"?: return .pending
        case "successful"?: return .successful
        case "failed"?: return .failed
        default: throw ScenarioFailure("status must be pending, successful or failed, not \(value)")
        }
    }

    private static func transactionFilter(_ args: JSON, _ call: String) throws -> TransactionFilter {
        try allowOnly(["offset", "limit", "kind", "client", "from", "to"], in: args, call)
        return TransactionFilter(
            offset: try optionalUInt64(args, "offset"),
            limit: try optionalUInt64(args, "limit"),
            from: try date(args, "from"),
            to: try date(args, "to"),
            kind: try transactionKind(args),
            client: try optionalString(args, "client")
        )
    }

    private static func eventFilter(_ args: JSON, _ call: String) throws -> EventFilter {
        try allowOnly(["reference", "kind", "client", "status", "offset", "limit", "from", "to"], in: args, call)
        return EventFilter(
            reference: try optionalString(args, "reference"),
            kind: try transactionKind(args),
            client: try optionalString(args, "client"),
            status: try transactionStatus(args),
            offset: try optionalUInt64(args, "offset"),
            limit: try optionalUInt64(args, "limit"),
            from: try date(args, "from"),
            to: try date(args, "to")
        )
    }

    // MARK: Control

    private func runControl(_ control: String, _ step: JSON) async throws {
        let only: [Gateway: [String]] = [
            .paypack: ["settle", "expire_tokens", "revoke_tokens", "seed_tokens"],
            .checkout: ["payment_status", "oauth_expire"],
            .paga: ["paga_expire_tokens"],
        ]
        if only.contains(where: { $0.key != gateway && $0.value.contains(control) }) {
            throw ScenarioFailure("'\(control)' is not a control of \(gateway.rawValue) scenarios")
        }
        switch control {
        case "payment_status":
            let paymentID = try Self.string(step["payment_id"] ?? .null, "payment_id")
            var body: [(String, JSON)] = [("status", step["status"] ?? .null)]
            if let received = step["received_minor"] {
                body.append(("received_minor", received))
            }
            try await sandbox.control(
                "POST", "/_sandbox/checkout/payments/\(SandboxProcess.pathSegment(paymentID))/status",
                json: .object(body))
        case "oauth_expire":
            var body: [(String, JSON)] = []
            if let which = step["which"] {
                body.append(("which", .string(try Self.string(which, "which"))))
            }
            try await sandbox.control("POST", "/_sandbox/checkout/oauth/expire", json: .object(body))
        case "paga_expire_tokens":
            var body: [(String, JSON)] = []
            if let which = step["which"] {
                body.append(("which", .string(try Self.string(which, "which"))))
            }
            try await sandbox.control("POST", "/_sandbox/paga/tokens/expire", json: .object(body))
        case "settle":
            let reference = try Self.string(step["reference"] ?? .null, "reference")
            var body: [(String, JSON)] = []
            if let status = step["status"] {
                body.append(("status", status))
            }
            try await sandbox.control(
                "POST", "/_sandbox/paypack/transactions/\(SandboxProcess.pathSegment(reference))/settle",
                json: .object(body))
        case "fault":
            guard let fault = step["fault"] else { throw ScenarioFailure("fault needs a 'fault' object") }
            try await sandbox.control("POST", "/_sandbox/faults", json: fault)
        case "clear_faults":
            try await sandbox.control("DELETE", "/_sandbox/faults")
        case "clear_requests":
            try await sandbox.control("DELETE", "/_sandbox/requests")
        case "expire_tokens", "revoke_tokens":
            let which = try Self.string(step["which"] ?? .null, "which")
            let action = control == "expire_tokens" ? "expire" : "revoke"
            try await sandbox.control(
                "POST", "/_sandbox/paypack/tokens/\(action)", json: .object([("which", .string(which))]))
        case "config":
            guard let config = step["config"] else { throw ScenarioFailure("config needs a 'config' object") }
            try await sandbox.control("POST", "/_sandbox/\(gateway.rawValue)/config", json: config)
        case "seed_tokens":
            guard case let .paypack(clientID, clientSecret, _) = recipe else {
                throw ScenarioFailure("seed_tokens needs a Paypack client")
            }
            guard let seconds = step["expires_in_secs"]?.intValue else {
                throw ScenarioFailure("seed_tokens needs expires_in_secs")
            }
            let tokens = try await sandbox.rawTokens(clientID: clientID, clientSecret: clientSecret)
            let now = Date()
            let tokenSet = try TokenSet(
                accessToken: tokens.access,
                expiresAt: now.addingTimeInterval(TimeInterval(seconds)),
                refreshToken: tokens.refresh,
                refreshExpiresAt: nil,
                obtainedAt: now.addingTimeInterval(-900)
            )
            try store.save(key: sandbox.tokenStoreKey(clientID: clientID), tokens: tokenSet)
            try await sandbox.clearRequests()
        default:
            throw ScenarioFailure("unknown control '\(control)'")
        }
    }

    // MARK: Assertions

    private func runAssert(_ check: String, _ step: JSON) async throws {
        switch check {
        case "requests":
            guard let expected = step["count"]?.intValue else { throw ScenarioFailure("requests needs count") }
            let matching = try await matchingRequests(step)
            guard matching.count == expected else {
                throw ScenarioFailure("expected \(expected) requests, found \(matching.count): "
                    + Self.summarize(matching))
            }
        case "ledger":
            // Paypack: the transactions; checkout: the payments.
            guard let expected = step["count"]?.intValue else { throw ScenarioFailure("ledger needs count") }
            let ledger = try await sandbox.control("GET", "/_sandbox/\(gateway.rawValue)/ledger")
            let what = gateway == .paypack ? "transactions" : "payments"
            let count = ledger[what]?.arrayValue?.count ?? 0
            guard count == expected else {
                throw ScenarioFailure("expected \(expected) \(what) in the ledger, found \(count)")
            }
        case "header":
            let matching = try await matchingRequests(step)
            let index = step["index"]?.intValue ?? 0
            guard matching.indices.contains(index) else {
                throw ScenarioFailure("no request #\(index) among \(matching.count): " + Self.summarize(matching))
            }
            let name = try Self.string(step["header"] ?? .null, "header").lowercased()
            var value: String?
            if case let .object(headers)? = matching[index]["headers"] {
                value = headers.first(where: { $0.0.lowercased() == name })?.1.stringValue
            }
            if let equals = step["equals"] {
                if equals.isNull {
                    guard value == nil else { throw ScenarioFailure("header \(name) should be absent, is \(value!)") }
                } else {
                    let expected = try Self.string(equals, "equals")
                    guard value == expected else {
                        throw ScenarioFailure("header \(name) is \(value ?? "absent"), expected \(expected)")
                    }
                }
            } else if let pattern = step["matches"] {
                let regex = try NSRegularExpression(pattern: try Self.string(pattern, "matches"))
                guard let value else { throw ScenarioFailure("header \(name) is absent") }
                let range = NSRange(value.startIndex ..< value.endIndex, in: value)
                guard regex.firstMatch(in: value, options: [], range: range) != nil else {
                    throw ScenarioFailure("header \(name) = \(value) does not match \(pattern)")
                }
            } else {
                throw ScenarioFailure("header needs equals or matches")
            }
        case "statuses":
            guard let expected = step["equals"] else { throw ScenarioFailure("statuses needs equals") }
            let statuses = JSON.array(try await matchingRequests(step).map { $0["status"] ?? .null })
            if let problem = JSON.mismatch(expected: expected, actual: statuses, at: "statuses") {
                throw ScenarioFailure(problem)
            }
        default:
            throw ScenarioFailure("unknown assert '\(check)'")
        }
    }

    /// The logged requests the step names: `method` (any when absent), and paths starting
    /// with the gateway's prefix + `path`.
    private func matchingRequests(_ step: JSON) async throws -> [JSON] {
        try await sandbox.requests(
            method: step["method"]?.stringValue, pathPrefix: gateway.pathPrefix + (step["path"]?.stringValue ?? ""))
    }

    private static func summarize(_ requests: [JSON]) -> String {
        let lines = requests.map { entry in
            "\(entry["method"]?.stringValue ?? "?") \(entry["path"]?.stringValue ?? "?") → \(entry["status"] ?? .null)"
        }
        return "[" + lines.joined(separator: ", ") + "]"
    }

    // MARK: Webhooks

    /// The webhook body: `body_text` verbatim, or `body` as compact JSON.
    private static func webhookBody(_ webhook: JSON) throws -> Data {
        if let text = webhook["body_text"] {
            return Data(try string(text, "webhook.body_text").utf8)
        } else if let object = webhook["body"] {
            return Data(object.compact.utf8)
        }
        throw ScenarioFailure("webhook needs body or body_text")
    }

    private func runWebhook(_ webhook: JSON, _ step: JSON) throws {
        let outcome: Result<JSON, Error>
        switch gateway {
        case .paypack: outcome = try Self.paypackWebhook(webhook)
        case .checkout: outcome = try Self.checkoutWebhook(webhook)
        case .paga: throw ScenarioFailure("Paga Connect has no webhooks")
        }
        try check(outcome, step)
        if let name = step["save"]?.stringValue, case let .success(result) = outcome {
            saved[name] = result
        }
    }

    /// Signs (or not) and verifies a Paypack webhook: base64 HMAC over the body.
    private static func paypackWebhook(_ webhook: JSON) throws -> Result<JSON, Error> {
        let secret = try string(webhook["secret"] ?? .null, "webhook.secret")
        var body = try webhookBody(webhook)
        let verifier = try PaypackWebhookVerifier(secret: secret)
        let signature: String?
        switch try string(webhook["signature"] ?? .null, "webhook.signature") {
        case "valid":
            signature = verifier.sign(body: body)
        case "tamper_body":
            signature = verifier.sign(body: body)
            body = try tamper(body, webhook)
        case "tamper_signature":
            let valid = verifier.sign(body: body)
            signature = (valid.hasPrefix("A") ? "B" : "A") + String(valid.dropFirst())
        case "missing":
            signature = nil
        case "wrong_secret":
            signature = try PaypackWebhookVerifier(secret: "not-the-secret").sign(body: body)
        case let other:
            throw ScenarioFailure("unknown webhook signature mode '\(other)'")
        }
        do {
            return .success(Canonical.event(try verifier.verifyAndParse(body: body, signature: signature)))
        } catch {
            return .failure(error)
        }
    }

    /// Signs (or not) and verifies a checkout webhook: hex HMAC over `"{ts}.{body}"`, with
    /// `ts` = now in unix seconds, and the event header `event`.
    private static func checkoutWebhook(_ webhook: JSON) throws -> Result<JSON, Error> {
        let secret = try string(webhook["secret"] ?? .null, "webhook.secret")
        var body = try webhookBody(webhook)
        let event = try optionalString(webhook, "event")
        let verifier = try CheckoutWebhookVerifier(secret: secret)
        let now = Int64(Date().timeIntervalSince1970)
        var timestamp: String? = String(now)
        let signature: String?
        switch try string(webhook["signature"] ?? .null, "webhook.signature") {
        case "valid":
            signature = verifier.sign(timestamp: now, body: body)
        case "tamper_body":
            signature = verifier.sign(timestamp: now, body: body)
            body = try tamper(body, webhook)
        case "tamper_signature":
            let valid = verifier.sign(timestamp: now, body: body)
            signature = (valid.hasPrefix("0") ? "1" : "0") + String(valid.dropFirst())
        case "missing":
            signature = nil
        case "missing_timestamp":
            signature = verifier.sign(timestamp: now, body: body)
            timestamp = nil
        case "wrong_secret":
            signature = try CheckoutWebhookVerifier(secret: "not-the-secret").sign(timestamp: now, body: body)
        case "stale":
            let then = now - 3600
            signature = verifier.sign(timestamp: then, body: body)
            timestamp = String(then)
        case let other:
            throw ScenarioFailure("unknown checkout webhook signature mode '\(other)'")
        }
        do {
            return .success(Canonical.checkoutWebhook(try verifier.verifyAndParse(
                body: body, signature: signature, timestamp: timestamp, event: event)))
        } catch {
            return .failure(error)
        }
    }

    /// The body after signing: `tamper` replaced by `tamper_with` when given, else the first
    /// digit after the first `"amount":` replaced by the next digit (`9` becoming `0`).
    static func tamper(_ body: Data, _ webhook: JSON) throws -> Data {
        if let target = webhook["tamper"] {
            let find = try string(target, "webhook.tamper")
            let replacement = try string(webhook["tamper_with"] ?? .string(""), "webhook.tamper_with")
            var text = String(decoding: body, as: UTF8.self)
            guard let range = text.range(of: find) else {
                throw ScenarioFailure("tamper text \(find) is not in the body")
            }
            text.replaceSubrange(range, with: replacement)
            return Data(text.utf8)
        }
        var bytes = [UInt8](body)
        let marker = Array("\"amount\":".utf8)
        guard bytes.count >= marker.count,
              let start = (0 ... bytes.count - marker.count).first(where: {
                  Array(bytes[$0 ..< $0 + marker.count]) == marker
              })
        else { throw ScenarioFailure("the body has no \"amount\": to tamper with") }
        let zero = UInt8(ascii: "0")
        let nine = UInt8(ascii: "9")
        guard let digit = (start + marker.count ..< bytes.count).first(where: { bytes[$0] >= zero && bytes[$0] <= nine })
        else { throw ScenarioFailure("the amount has no digit to tamper with") }
        bytes[digit] = bytes[digit] == nine ? zero : bytes[digit] + 1
        return Data(bytes)
    }
}

// MARK: - Canonical forms (tests/conformance/README.md)

enum Canonical {
    /// A normalised decimal string: no exponent, no trailing zeros.
    static func decimal(_ value: Decimal) -> String {
        var text = NSDecimalNumber(decimal: value).description(withLocale: Locale(identifier: "en_US_POSIX"))
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text == "-0" ? "0" : text
    }

    static func amount(_ value: Decimal?) -> JSON {
        value.map { JSON.string(decimal($0)) } ?? .null
    }

    static func status(_ status: TransactionStatus) -> String {
        switch status {
        case .pending: return "pending"
        case .successful: return "successful"
        case .failed: return "failed"
        case .unknown: return "unknown"
        }
    }

    static func kind(_ kind: TransactionKind) -> String {
        switch kind {
        case .cashIn: return "cash_in"
        case .cashOut: return "cash_out"
        case .unknown: return "unknown"
        }
    }

    static func eventKind(_ kind: EventKind) -> String {
        switch kind {
        case .transactionCreated: return "transaction_created"
        case .transactionProcessed: return "transaction_processed"
        case .unknown: return "unknown"
        }
    }

    static func errorKind(_ kind: ErrorKind) -> String {
        switch kind {
        case .authentication: return "authentication"
        case .permission: return "permission"
        case .validation: return "validation"
        case .notFound: return "not_found"
        case .rateLimited: return "rate_limited"
        case .gateway: return "gateway"
        case .network: return "network"
        case .timeout: return "timeout"
        case .decode: return "decode"
        case .configuration: return "configuration"
        case .webhookSignature: return "webhook_signature"
        case .tokenStore: return "token_store"
        case .`internal`: return "internal"
        }
    }

    static func transaction(_ transaction: Transaction) -> JSON {
        .object([
            ("reference", .string(transaction.reference)),
            ("status", .string(status(transaction.status))),
            ("status_raw", .string(transaction.statusRaw)),
            ("amount", amount(transaction.amount)),
            ("fee", amount(transaction.fee)),
            ("kind", .string(kind(transaction.kind))),
            ("kind_raw", .string(transaction.kindRaw)),
            ("provider", JSON.from(transaction.provider)),
            ("client", JSON.from(transaction.client)),
            ("has_created_at", .bool(transaction.createdAt != nil)),
            ("has_processed_at", .bool(transaction.processedAt != nil)),
        ])
    }

    static func event(_ event: Event) -> JSON {
        .object([
            ("id", .string(event.id)),
            ("kind", .string(eventKind(event.kind))),
            ("kind_raw", .string(event.kindRaw)),
            ("transaction", transaction(event.transaction)),
        ])
    }

    static func transactionPage(_ page: TransactionPage) -> JSON {
        .object([
            ("offset", JSON.from(page.offset)),
            ("limit", JSON.from(page.limit)),
            ("total", JSON.from(page.total)),
            ("count", JSON.from(page.transactions.count)),
            ("cashin_total", amount(page.cashinTotal)),
            ("cashout_total", amount(page.cashoutTotal)),
            ("fee_total", amount(page.feeTotal)),
            ("references", .array(page.transactions.map { JSON.string($0.reference) })),
        ])
    }

    static func eventPage(_ page: EventPage) -> JSON {
        .object([
            ("offset", JSON.from(page.offset)),
            ("limit", JSON.from(page.limit)),
            ("total", JSON.from(page.total)),
            ("count", JSON.from(page.events.count)),
            ("kinds", .array(page.events.map { JSON.string(eventKind($0.kind)) })),
        ])
    }

    static func profile(_ profile: Profile) -> JSON {
        .object([
            ("id", .string(profile.id)),
            ("name", .string(profile.name)),
            ("balance", amount(profile.balance)),
            ("mtn_balance", amount(profile.mtnBalance)),
            ("airtel_balance", amount(profile.airtelBalance)),
            ("in_rate", amount(profile.inRate)),
            ("out_rate", amount(profile.outRate)),
        ])
    }

    static func pager(_ identifiers: [String]) -> JSON {
        .object([
            ("count", JSON.from(identifiers.count)),
            ("unique", JSON.from(Set(identifiers).count)),
        ])
    }

    /// `fields`: the sorted names of the fields in `fieldErrors` (hosted checkout; Paypack
    /// errors have none).
    static func error(_ error: PesakitError) -> JSON {
        .object([
            ("kind", .string(errorKind(error.kind))),
            ("status", JSON.from(error.status)),
            ("gateway_message", JSON.from(error.gatewayMessage)),
            ("gateway_code", JSON.from(error.gatewayCode)),
            ("has_body", .bool(error.body != nil)),
            ("retry_after_ms", JSON.from(error.retryAfterMs)),
            ("idempotency_key", JSON.from(error.idempotencyKey)),
            ("summary", .string(error.summary)),
            ("fields", .array(error.fieldErrors.map(\.field).sorted().map { JSON.string($0) })),
        ])
    }

    // MARK: Hosted checkout

    static func paymentStatus(_ status: PaymentStatus) -> String {
        switch status {
        case .`open`: return "open"
        case .found: return "found"
        case .received: return "received"
        case .confirmed: return "confirmed"
        case .underpaid: return "underpaid"
        case .cancelled: return "cancelled"
        case .error: return "error"
        case .refund: return "refund"
        case .unknown: return "unknown"
        }
    }

    static func checkoutEventKind(_ kind: CheckoutEventKind) -> String {
        switch kind {
        case .paymentCompleted: return "payment_completed"
        case .paymentReceived: return "payment_received"
        case .paymentUnderpaid: return "payment_underpaid"
        case .unknown: return "unknown"
        }
    }

    static func money(_ money: Money?) -> JSON {
        guard let money else { return .null }
        return .object([
            ("value", amount(money.value)),
            ("minor_units", JSON.from(money.minorUnits)),
            ("formatted", JSON.from(money.formatted)),
        ])
    }

    static func payment(_ payment: Payment) -> JSON {
        .object([
            ("id", .string(payment.id)),
            ("status", .string(paymentStatus(payment.status))),
            ("status_raw", .string(payment.statusRaw)),
            ("reference", JSON.from(payment.reference)),
            ("currency_code", JSON.from(payment.currencyCode)),
            ("amount", money(payment.amount)),
            ("received_amount", money(payment.receivedAmount)),
            ("has_found_at", .bool(payment.foundAt != nil)),
            ("has_confirmed_at", .bool(payment.confirmedAt != nil)),
            ("has_date", .bool(payment.date != nil)),
        ])
    }

    static func checkout(_ checkout: Checkout) -> JSON {
        .object([
            ("payment_id", .string(checkout.paymentId)),
            ("url_has_payment_id", .bool(checkout.checkoutUrl.contains(checkout.paymentId))),
            ("has_expires_at", .bool(checkout.expiresAt != nil)),
        ])
    }

    static func application(_ application: PaymentApplication) -> JSON {
        .object([
            ("id", .string(application.id)),
            ("name", .string(application.name)),
            ("client_id_length", JSON.from(application.clientId.map { $0.count })),
            ("currency_whitelist", .array(application.currencyWhitelist.map { JSON.string($0) })),
        ])
    }

    // MARK: Paga Connect

    /// `has_authorities`: the token answer's `authorities` kept among the grant's extra fields.
    static func pagaGrant(_ grant: PagaGrant) -> JSON {
        var hasAuthorities = false
        if case let .object(members)? = try? JSON.parse(grant.extraJson) {
            hasAuthorities = members.contains { $0.0 == "authorities" }
        }
        return .object([
            ("scopes", .array(grant.scopes.map { JSON.string($0) })),
            ("user_data", .array(grant.userData.map { JSON.string($0) })),
            ("has_authorities", .bool(hasAuthorities)),
        ])
    }

    static func checkoutWebhook(_ event: CheckoutWebhookEvent) -> JSON {
        .object([
            ("kind", .string(checkoutEventKind(event.kind))),
            ("kind_raw", .string(event.kindRaw)),
            ("payment", payment(event.payment)),
        ])
    }
}
#endif
