// What the three Meta adapters add to ParleyKit's JSONValue (package access: not part of the ADK's public API):
// the webhook entry point, numbers for request bodies, and field accessors as lenient as Meta's payloads need.
import ParleyKit

package typealias JSONObject = [String: JSONValue]

package enum JSON {
    /// Parses `bytes` as one JSON object, or throws `malformedPayload`.
    package static func object(_ bytes: [UInt8], what: String) throws(AdapterError) -> JSONObject {
        let parsed: JSONValue
        do {
            parsed = try JSONValue.parse(bytes, repairingText: true)
        } catch {
            throw AdapterError(.malformedPayload, "\(what) is not valid JSON (\(bytes.count) bytes): \(error.message)")
        }
        guard case .object(let object) = parsed else {
            throw AdapterError(.malformedPayload, "\(what) is JSON but not an object")
        }
        return object
    }

    /// A request body: sorted keys, so equal events give byte-equal requests.
    package static func body(_ object: JSONObject) -> [UInt8] {
        JSONValue.object(object).serialized
    }
}

extension JSONValue {
    /// An integer as bodies have always written it.
    package init(_ value: Int) { self = .number(String(value)) }

    /// A `Double` as Swift prints it (`1.5`, `-2.25`, `1e-05`), which is how bodies have always written one.
    /// - Throws: ``AdapterError/Code/internalFailure`` for NaN and infinities, which JSON cannot express.
    package static func finite(_ value: Double) throws(AdapterError) -> JSONValue {
        guard value.isFinite else { throw AdapterError(.internalFailure, "cannot write the non-finite number \(value) as JSON") }
        return .number(String(value))
    }
}

extension Dictionary where Key == String, Value == JSONValue {
    /// A string field; numbers are accepted too (some SDK fixtures send ids as numbers): an integer as its decimal
    /// text, any other number as Swift prints its `Double` (`1.50` → `1.5`), as the adapters have always read them.
    package func str(_ key: String) -> String? {
        switch self[key] {
        case .string(let s)?: return s
        case .number(let n)?: return Int64(n).map { String($0) } ?? Double(n).map { String($0) }
        default: return nil
        }
    }

    /// A string field that is present and not empty.
    package func nonEmpty(_ key: String) -> String? {
        guard let s = str(key), !s.isEmpty else { return nil }
        return s
    }

    package func obj(_ key: String) -> JSONObject? { self[key]?.object }

    package func arr(_ key: String) -> [JSONValue]? { self[key]?.array }

    /// An integer given as an integral JSON number (`1500` or `1.5e3`) or as a decimal string.
    package func int64(_ key: String) -> Int64? {
        switch self[key] {
        case .number(let n)?:
            if let i = Int64(n) { return i }
            guard let d = Double(n), d.rounded() == d, abs(d) < 9e18 else { return nil }
            return Int64(d)
        case .string(let s)?: return Int64(s)
        default: return nil
        }
    }

    package func double(_ key: String) -> Double? {
        switch self[key] {
        // Integers go through Int64 as they always did, so `-0` reads as 0.
        case .number(let n)?: return Int64(n).map { Double($0) } ?? Double(n)
        case .string(let s)?: return Double(s)
        default: return nil
        }
    }

    /// `true`, or the string `"true"` (older Meta docs quote booleans).
    package func flag(_ key: String) -> Bool {
        switch self[key] {
        case .bool(let b)?: return b
        case .string(let s)?: return s == "true"
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
