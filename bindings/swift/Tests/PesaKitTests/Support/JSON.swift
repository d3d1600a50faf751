#if os(macOS) || os(Linux)
import Foundation

/// A JSON value that keeps the order of object keys and the literal text of numbers, so a
/// scenario's webhook body is serialised back exactly as written (`"fee":18.4` stays
/// `18.4`). Foundation's `JSONSerialization` keeps neither, and turns booleans into
/// numbers differently on Apple platforms and Linux.
enum JSON: Sendable, CustomStringConvertible {
    case null
    case bool(Bool)
    /// The number's literal text.
    case number(String)
    case string(String)
    case array([JSON])
    /// Members in their written order.
    case object([(String, JSON)])

    // MARK: Reading

    subscript(key: String) -> JSON? {
        guard case let .object(members) = self else { return nil }
        return members.first(where: { $0.0 == key })?.1
    }

    var stringValue: String? {
        if case let .string(value) = self { return value }
        return nil
    }

    var boolValue: Bool? {
        if case let .bool(value) = self { return value }
        return nil
    }

    var intValue: Int? {
        guard case let .number(text) = self else { return nil }
        if let value = Int(text) { return value }
        if let value = Double(text), value.rounded() == value, abs(value) < 1e15 { return Int(value) }
        return nil
    }

    var uint64Value: UInt64? {
        guard let value = intValue, value >= 0 else { return nil }
        return UInt64(value)
    }

    var arrayValue: [JSON]? {
        if case let .array(items) = self { return items }
        return nil
    }

    var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The same object without `key`.
    func removing(_ key: String) -> JSON {
        guard case let .object(members) = self else { return self }
        return .object(members.filter { $0.0 != key })
    }

    // MARK: Building

    static func from(_ value: String?) -> JSON {
        value.map { JSON.string($0) } ?? .null
    }

    static func from<I: BinaryInteger>(_ value: I?) -> JSON {
        value.map { JSON.number(String($0)) } ?? .null
    }

    // MARK: Writing

    /// Compact JSON (no spaces), keys in their order, non-ASCII characters as UTF-8.
    var compact: String {
        var out = ""
        write(into: &out)
        return out
    }

    var description: String { compact }

    private func write(into out: inout String) {
        switch self {
        case .null:
            out += "null"
        case let .bool(value):
            out += value ? "true" : "false"
        case let .number(text):
            out += text
        case let .string(value):
            JSON.writeString(value, into: &out)
        case let .array(items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                item.write(into: &out)
            }
            out += "]"
        case let .object(members):
            out += "{"
            for (index, member) in members.enumerated() {
                if index > 0 { out += "," }
                JSON.writeString(member.0, into: &out)
                out += ":"
                member.1.write(into: &out)
            }
            out += "}"
        }
    }

    private static func writeString(_ value: String, into out: inout String) {
        out += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    // MARK: Parsing

    struct ParseError: Error, CustomStringConvertible {
        let description: String
    }

    static func parse(_ data: Data) throws -> JSON {
        var parser = Parser(bytes: [UInt8](data))
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        guard parser.index == parser.bytes.count else {
            throw ParseError(description: "unexpected text after the JSON value at byte \(parser.index)")
        }
        return value
    }

    static func parse(_ text: String) throws -> JSON {
        try parse(Data(text.utf8))
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) {
            self.bytes = bytes
        }

        mutating func skipWhitespace() {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09
                || bytes[index] == 0x0A || bytes[index] == 0x0D {
                index += 1
            }
        }

        func error(_ message: String) -> ParseError {
            ParseError(description: "\(message) at byte \(index)")
        }

        mutating func parseValue() throws -> JSON {
            guard index < bytes.count else { throw error("unexpected end of JSON") }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                return try parseObject()
            case UInt8(ascii: "["):
                return try parseArray()
            case UInt8(ascii: "\""):
                return .string(try parseString())
            case UInt8(ascii: "t"):
                try expectLiteral("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try expectLiteral("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try expectLiteral("null")
                return .null
            default:
                return try parseNumber()
            }
        }

        mutating func expectLiteral(_ literal: String) throws {
            let expected = Array(literal.utf8)
            guard index + expected.count <= bytes.count,
                  Array(bytes[index ..< index + expected.count]) == expected
            else { throw error("invalid literal") }
            index += expected.count
        }

        mutating func parseNumber() throws -> JSON {
            let start = index
            let allowed = Array("+-0123456789.eE".utf8)
            while index < bytes.count, allowed.contains(bytes[index]) {
                index += 1
            }
            let text = String(decoding: bytes[start ..< index], as: UTF8.self)
            guard !text.isEmpty, Double(text) != nil else { throw error("invalid number '\(text)'") }
            return .number(text)
        }

        mutating func parseArray() throws -> JSON {
            index += 1 // [
            var items: [JSON] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(items)
            }
            while true {
                skipWhitespace()
                items.append(try parseValue())
                skipWhitespace()
                guard index < bytes.count else { throw error("unterminated array") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                } else if bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return .array(items)
                } else {
                    throw error("expected ',' or ']'")
                }
            }
        }

        mutating func parseObject() throws -> JSON {
            index += 1 // {
            var members: [(String, JSON)] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                    throw error("expected a key")
                }
                let key = try parseString()
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                    throw error("expected ':'")
                }
                index += 1
                skipWhitespace()
                let value = try parseValue()
                members.append((key, value))
                skipWhitespace()
                guard index < bytes.count else { throw error("unterminated object") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                } else if bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return .object(members)
                } else {
                    throw error("expected ',' or '}'")
                }
            }
        }

        mutating func parseHex4() throws -> UInt32 {
            guard index + 4 <= bytes.count,
                  let value = UInt32(String(decoding: bytes[index ..< index + 4], as: UTF8.self), radix: 16)
            else { throw error("invalid \\u escape") }
            index += 4
            return value
        }

        mutating func parseString() throws -> String {
            index += 1 // opening quote
            var utf8: [UInt8] = []
            while true {
                guard index < bytes.count else { throw error("unterminated string") }
                let byte = bytes[index]
                index += 1
                if byte == UInt8(ascii: "\"") {
                    return String(decoding: utf8, as: UTF8.self)
                }
                if byte != UInt8(ascii: "\\") {
                    utf8.append(byte)
                    continue
                }
                guard index < bytes.count else { throw error("unterminated escape") }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): utf8.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): utf8.append(UInt8(ascii: "\\"))
                case UInt8(ascii: "/"): utf8.append(UInt8(ascii: "/"))
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try parseHex4()
                    if code >= 0xD800, code < 0xDC00 {
                        // A surrogate pair: the low half must follow as another \u escape.
                        guard index + 2 <= bytes.count, bytes[index] == UInt8(ascii: "\\"),
                              bytes[index + 1] == UInt8(ascii: "u")
                        else { throw error("unpaired surrogate") }
                        index += 2
                        let low = try parseHex4()
                        guard low >= 0xDC00, low < 0xE000 else { throw error("invalid surrogate pair") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw error("invalid code point") }
                    utf8.append(contentsOf: Array(String(Character(scalar)).utf8))
                default:
                    throw error("invalid escape")
                }
            }
        }
    }
}

// MARK: - Matching

extension JSON {
    /// Why `actual` does not contain `expected` (objects: the expected keys with matching
    /// values, recursively; arrays: element-wise and by length; numbers: by value), or nil
    /// when it does.
    static func mismatch(expected: JSON, actual: JSON, at path: String) -> String? {
        switch expected {
        case let .object(members):
            guard case .object = actual else {
                return "\(path): expected an object, got \(actual.compact)"
            }
            for (key, value) in members {
                guard let actualValue = actual[key] else {
                    return "\(path).\(key): missing from \(actual.compact)"
                }
                if let problem = mismatch(expected: value, actual: actualValue, at: "\(path).\(key)") {
                    return problem
                }
            }
            return nil
        case let .array(items):
            guard let actualItems = actual.arrayValue else {
                return "\(path): expected a list, got \(actual.compact)"
            }
            guard items.count == actualItems.count else {
                return "\(path): expected \(items.count) items \(expected.compact), got \(actualItems.count): \(actual.compact)"
            }
            for (index, pair) in zip(items, actualItems).enumerated() {
                if let problem = mismatch(expected: pair.0, actual: pair.1, at: "\(path)[\(index)]") {
                    return problem
                }
            }
            return nil
        case let .number(text):
            let posix = Locale(identifier: "en_US_POSIX")
            if case let .number(actualText) = actual,
               let left = Decimal(string: text, locale: posix),
               let right = Decimal(string: actualText, locale: posix),
               left == right {
                return nil
            }
            return "\(path): expected \(text), got \(actual.compact)"
        case let .string(value):
            if actual.stringValue == value { return nil }
            return "\(path): expected \(expected.compact), got \(actual.compact)"
        case let .bool(value):
            if actual.boolValue == value { return nil }
            return "\(path): expected \(value), got \(actual.compact)"
        case .null:
            if actual.isNull { return nil }
            return "\(path): expected null, got \(actual.compact)"
        }
    }
}
#endif
