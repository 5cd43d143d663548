// The small JSON toolkit the three Meta adapters share (package access: not part of the ADK's public API). A one-pass parser over the raw bytes into Swift values, and a
// writer with sorted keys: both several times faster than JSONSerialization on Linux, and nothing is
// re-serialised before the host verifies signatures.
import ParleyKit

package typealias JSONObject = [String: Any]

/// JSON `null` (absent values read as `nil` through the accessors anyway).
struct JSONNull: Sendable {}

package enum JSON {
    /// Parses `bytes` as one JSON object, or throws `malformedPayload`.
    package static func object(_ bytes: [UInt8], what: String) throws(AdapterError) -> JSONObject {
        let parsed: Any? = bytes.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(bytes: buffer)
            return parser.document()
        }
        guard let parsed else {
            throw AdapterError(.malformedPayload, "\(what) is not valid JSON (\(bytes.count) bytes)")
        }
        guard let object = parsed as? JSONObject else {
            throw AdapterError(.malformedPayload, "\(what) is JSON but not an object")
        }
        return object
    }

    /// Serialises a request body with sorted keys so equal events give byte-equal requests.
    package static func body(_ object: JSONObject) throws(AdapterError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        try write(object, into: &out)
        return out
    }

    package static func write(_ value: Any, into out: inout [UInt8]) throws(AdapterError) {
        switch value {
        case let s as String:
            JSONValue.appendString(s, to: &out)
        case let b as Bool:
            out.append(contentsOf: b ? Array("true".utf8) : Array("false".utf8))
        case let i as Int:
            out.append(contentsOf: String(i).utf8)
        case let i as Int64:
            out.append(contentsOf: String(i).utf8)
        case let d as Double:
            guard d.isFinite else { throw AdapterError(.internalFailure, "cannot write the non-finite number \(d) as JSON") }
            out.append(contentsOf: String(d).utf8)
        case let object as JSONObject:
            out.append(UInt8(ascii: "{"))
            for (n, key) in object.keys.sorted().enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.appendString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                try write(object[key] ?? JSONNull(), into: &out)
            }
            out.append(UInt8(ascii: "}"))
        case let array as [Any]:
            out.append(UInt8(ascii: "["))
            for (n, item) in array.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                try write(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case is JSONNull:
            out.append(contentsOf: "null".utf8)
        default:
            throw AdapterError(.internalFailure, "cannot write a \(type(of: value)) as JSON")
        }
    }
}

/// A strict RFC 8259 parser; `nil` on any error. Nesting is capped so hostile input cannot exhaust the stack.
struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var i = 0
    var depth = 0
    static let maxDepth = 256

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    mutating func document() -> Any? {
        guard let value = value() else { return nil }
        skipSpace()
        return i == bytes.count ? value : nil
    }

    mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0a || bytes[i] == 0x0d || bytes[i] == 0x09 { i += 1 }
    }

    mutating func literal(_ word: StaticString, _ result: Any) -> Any? {
        let n = word.utf8CodeUnitCount
        guard i + n <= bytes.count else { return nil }
        for k in 0..<n where bytes[i + k] != word.utf8Start[k] { return nil }
        i += n
        return result
    }

    mutating func value() -> Any? {
        skipSpace()
        guard i < bytes.count else { return nil }
        switch bytes[i] {
        case UInt8(ascii: "{"): return object()
        case UInt8(ascii: "["): return array()
        case UInt8(ascii: "\""): return string()
        case UInt8(ascii: "t"): return literal("true", true)
        case UInt8(ascii: "f"): return literal("false", false)
        case UInt8(ascii: "n"): return literal("null", JSONNull())
        default: return number()
        }
    }

    mutating func object() -> Any? {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { return nil }
        i += 1
        var result: JSONObject = [:]
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return result }
        while true {
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\""), let key = string() else { return nil }
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return nil }
            i += 1
            guard let item = value() else { return nil }
            result[key] = item
            skipSpace()
            guard i < bytes.count else { return nil }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "}") { i += 1; return result }
            return nil
        }
    }

    mutating func array() -> Any? {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { return nil }
        i += 1
        var result: [Any] = []
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return result }
        while true {
            guard let item = value() else { return nil }
            result.append(item)
            skipSpace()
            guard i < bytes.count else { return nil }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "]") { i += 1; return result }
            return nil
        }
    }

    mutating func hex4() -> UInt32? {
        guard i + 4 <= bytes.count else { return nil }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            v = v << 4 | UInt32(d)
            i += 1
        }
        return v
    }

    mutating func string() -> String? {
        i += 1
        let start = i
        // Fast path: no escapes.
        while i < bytes.count, bytes[i] != UInt8(ascii: "\""), bytes[i] != UInt8(ascii: "\\") {
            if bytes[i] < 0x20 { return nil }
            i += 1
        }
        guard i < bytes.count else { return nil }
        if bytes[i] == UInt8(ascii: "\"") {
            i += 1
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<(i - 1)]), as: UTF8.self)
        }
        var out = Array(bytes[start..<i])
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                return String(decoding: out, as: UTF8.self)
            }
            if c < 0x20 { return nil }
            guard c == UInt8(ascii: "\\") else { out.append(c); i += 1; continue }
            i += 1
            guard i < bytes.count else { return nil }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0c)
            case UInt8(ascii: "n"): out.append(0x0a)
            case UInt8(ascii: "r"): out.append(0x0d)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                guard var scalar = hex4() else { return nil }
                if (0xD800..<0xDC00).contains(scalar), i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"),
                   bytes[i + 1] == UInt8(ascii: "u") {
                    let save = i
                    i += 2
                    if let low = hex4(), (0xDC00..<0xE000).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        i = save
                    }
                }
                // Lone surrogates become U+FFFD rather than failing the whole webhook.
                out.append(contentsOf: String(Unicode.Scalar(scalar) ?? "\u{FFFD}").utf8)
            default: return nil
            }
        }
        return nil
    }

    mutating func number() -> Any? {
        let start = i
        var integral = true
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        let digits = i
        while i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) { i += 1 }
        guard i > digits else { return nil }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            integral = false
            i += 1
            let fraction = i
            while i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) { i += 1 }
            guard i > fraction else { return nil }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            integral = false
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            let exponent = i
            while i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) { i += 1 }
            guard i > exponent else { return nil }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        if integral, let n = Int64(text) { return n }
        return Double(text)
    }
}

extension Dictionary where Key == String, Value == Any {
    /// A string field; integers are accepted too (some SDK fixtures send ids as numbers).
    package func str(_ key: String) -> String? {
        switch self[key] {
        case let s as String: return s
        case let n as Int64: return String(n)
        case let d as Double: return String(d)
        default: return nil
        }
    }

    /// A string field that is present and not empty.
    package func nonEmpty(_ key: String) -> String? {
        guard let s = str(key), !s.isEmpty else { return nil }
        return s
    }

    package func obj(_ key: String) -> JSONObject? { self[key] as? JSONObject }

    package func arr(_ key: String) -> [Any]? { self[key] as? [Any] }

    /// An integer given as a JSON number or as a decimal string.
    package func int64(_ key: String) -> Int64? {
        switch self[key] {
        case let n as Int64: return n
        case let d as Double: return d.rounded() == d && abs(d) < 9e18 ? Int64(d) : nil
        case let s as String: return Int64(s)
        default: return nil
        }
    }

    package func double(_ key: String) -> Double? {
        switch self[key] {
        case let d as Double: return d
        case let n as Int64: return Double(n)
        case let s as String: return Double(s)
        default: return nil
        }
    }

    /// `true`, or the string `"true"` (older Meta docs quote booleans).
    package func flag(_ key: String) -> Bool {
        switch self[key] {
        case let b as Bool: return b
        case let s as String: return s == "true"
        default: return false
        }
    }
}

/// Reads a Graph API send answer: `{"error":{…}}` bodies and HTTP status decide rejected versus retryable.
package enum GraphResponse {
    /// Error codes Meta documents as rate limiting or throttling: retrying later can succeed.
    package static let throttlingCodes: Set<Int64> = [4, 17, 32, 613, 80007, 130429, 131048, 131056]

    /// The failure a non-2xx answer (or a 2xx carrying `error`) describes, or `nil` when the body has no `error`.
    package static func failure(status: Int, root: JSONObject?) -> SendOutcome? {
        let error = root?.obj("error")
        if error == nil && (200..<300).contains(status) { return nil }
        let code = error?.int64("code")
        var message = error?.nonEmpty("message") ?? "HTTP \(status) from the send API"
        if let details = error?.obj("error_data")?.nonEmpty("details") { message += " (\(details))" }
        if let subcode = error?.int64("error_subcode") { message += " [subcode \(subcode)]" }
        if let trace = error?.nonEmpty("fbtrace_id") { message += " [fbtrace_id \(trace)]" }
        let failure = BridgeEvent.Failure(code: code.map { String($0) } ?? "http.\(status)", message: message)
        let retry = status >= 500 || status == 429 || code.map(throttlingCodes.contains) == true
        return retry ? .retryable(failure) : .rejected(failure)
    }

    /// Parses a send answer body, tolerating an empty or non-JSON body on error statuses.
    package static func root(status: Int, body: [UInt8]) throws(AdapterError) -> JSONObject? {
        do {
            return try JSON.object(body, what: "send response")
        } catch {
            if (200..<300).contains(status) {
                throw AdapterError(.badResponse, "HTTP \(status) send response is not a JSON object")
            }
            return nil
        }
    }
}
