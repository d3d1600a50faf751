#if os(macOS) || os(Linux)
import Foundation
import PesaKit
import XCTest

/// Runs every `tests/conformance/paypack/*.json` scenario through the Swift binding,
/// exactly as `tests/conformance/README.md` specifies: a fresh emulator per scenario, a
/// Swift `TokenStore` in memory, the async API (the blocking one where a step says
/// `"blocking": true`), over real HTTP. `PESAKIT_SCENARIO=name` runs one scenario only.
final class ConformanceTests: XCTestCase {
    func testEveryPaypackScenario() async throws {
        let directory = TestEnvironment.repository.appendingPathComponent("tests/conformance/paypack")
        var files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".json") }
            .sorted()
        if let only = ProcessInfo.processInfo.environment["PESAKIT_SCENARIO"], !only.isEmpty {
            files = files.filter { $0 == only || $0 == only + ".json" }
        }
        XCTAssertFalse(files.isEmpty, "no conformance scenario found in \(directory.path)")

        var failed: [String] = []
        for file in files {
            let started = Date()
            do {
                let scenario = try JSON.parse(Data(contentsOf: directory.appendingPathComponent(file)))
                let sandbox = try SandboxProcess()
                defer { sandbox.stop() }
                let runner = try await ScenarioRunner(scenario: scenario, sandbox: sandbox)
                try await runner.run()
                print("conformance \(file): ok (\(Int(Date().timeIntervalSince(started) * 1000)) ms)")
            } catch {
                failed.append(file)
                XCTFail("conformance \(file): \(error)")
            }
        }
        print("conformance: \(files.count - failed.count) of \(files.count) scenarios passed"
            + (failed.isEmpty ? "" : "; failed: \(failed.joined(separator: ", "))"))
    }
}

struct ScenarioFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// Executes one scenario's steps against its emulator.
final class ScenarioRunner {
    private let scenario: JSON
    private let sandbox: SandboxProcess
    private let store: MemoryTokenStore
    private let clientID: String
    private let clientSecret: String
    private let options: PaypackOptions
    private var client: PaypackClient
    private var saved: [String: JSON] = [:]

    init(scenario: JSON, sandbox: SandboxProcess) async throws {
        self.scenario = scenario
        self.sandbox = sandbox
        let store = MemoryTokenStore()
        self.store = store
        if let config = scenario["sandbox"] {
            try await sandbox.control("POST", "/_sandbox/paypack/config", json: config)
        }

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
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.options = options
        self.client = try PaypackClient(
            clientId: clientID, clientSecret: clientSecret, options: options, tokenStore: store, logger: nil)
    }

    private func makeClient() throws -> PaypackClient {
        try PaypackClient(
            clientId: clientID, clientSecret: clientSecret, options: options, tokenStore: store, logger: nil)
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
        return step.compact
    }

    // MARK: References

    /// Replaces every string `"$name.field…"` with the value saved as `name` (except in
    /// `matches`, which is a regular expression).
    private func resolve(_ value: JSON) throws -> JSON {
        switch value {
        case let .string(text) where text.hasPrefix("$"):
            let parts = text.dropFirst().split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard let first = parts.first, var current = saved[first] else {
                throw ScenarioFailure("\(text) refers to nothing saved (saved: \(saved.keys.sorted()))")
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
            client = try makeClient()
        } else {
            throw ScenarioFailure("a step needs one of call, control, assert, webhook, new_client")
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
        _ client: PaypackClient, _ call: String, _ args: JSON, blocking: Bool
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
        switch control {
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
            try await sandbox.control("POST", "/_sandbox/paypack/config", json: config)
        case "seed_tokens":
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
            guard let expected = step["count"]?.intValue else { throw ScenarioFailure("ledger needs count") }
            let ledger = try await sandbox.control("GET", "/_sandbox/paypack/ledger")
            let count = ledger["transactions"]?.arrayValue?.count ?? 0
            guard count == expected else {
                throw ScenarioFailure("expected \(expected) transactions in the ledger, found \(count)")
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

    private func matchingRequests(_ step: JSON) async throws -> [JSON] {
        try await sandbox.requests(method: step["method"]?.stringValue, path: step["path"]?.stringValue ?? "")
    }

    private static func summarize(_ requests: [JSON]) -> String {
        let lines = requests.map { entry in
            "\(entry["method"]?.stringValue ?? "?") \(entry["path"]?.stringValue ?? "?") → \(entry["status"] ?? .null)"
        }
        return "[" + lines.joined(separator: ", ") + "]"
    }

    // MARK: Webhooks

    private func runWebhook(_ webhook: JSON, _ step: JSON) throws {
        let secret = try Self.string(webhook["secret"] ?? .null, "webhook.secret")
        var body: Data
        if let text = webhook["body_text"] {
            body = Data(try Self.string(text, "webhook.body_text").utf8)
        } else if let object = webhook["body"] {
            body = Data(object.compact.utf8)
        } else {
            throw ScenarioFailure("webhook needs body or body_text")
        }
        let verifier = try PaypackWebhookVerifier(secret: secret)
        let signature: String?
        switch try Self.string(webhook["signature"] ?? .null, "webhook.signature") {
        case "valid":
            signature = verifier.sign(body: body)
        case "tamper_body":
            signature = verifier.sign(body: body)
            body = try Self.tamper(body, webhook)
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
        let outcome: Result<JSON, Error>
        do {
            outcome = .success(Canonical.event(try verifier.verifyAndParse(body: body, signature: signature)))
        } catch {
            outcome = .failure(error)
        }
        try check(outcome, step)
        if let name = step["save"]?.stringValue, case let .success(result) = outcome {
            saved[name] = result
        }
    }

    /// The body after signing: `tamper` replaced by `tamper_with` when given, else the first
    /// digit of the first `"amount":` value changed to another digit.
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
        bytes[digit] = bytes[digit] == nine ? UInt8(ascii: "1") : bytes[digit] + 1
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

    static func error(_ error: PesakitError) -> JSON {
        .object([
            ("kind", .string(errorKind(error.kind))),
            ("status", JSON.from(error.status)),
            ("gateway_message", JSON.from(error.gatewayMessage)),
            ("has_body", .bool(error.body != nil)),
            ("retry_after_ms", JSON.from(error.retryAfterMs)),
            ("idempotency_key", JSON.from(error.idempotencyKey)),
            ("summary", .string(error.summary)),
        ])
    }
}
#endif
