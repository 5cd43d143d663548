import Foundation

/// The logic of `parley translate`: native payloads to event lines and event lines to native requests.
public enum Translate {
    /// One JSON object per event: BridgeEvent's Codable form with sorted keys.
    public static func eventLines(_ adapter: some Adapter, payload: [UInt8]) throws(AdapterError) -> [String] {
        try adapter.decode(payload).map { event throws(AdapterError) in String(decoding: try ABICoding.encode(event), as: UTF8.self) }
    }

    /// Reads lines of event JSON (blank lines skipped) and gives one JSON line per native request:
    /// `{"body":<the JSON body, or a string when it is not JSON>,"contentType":…,"method":…,"path":…}`.
    /// - Throws: an AdapterError naming the line that is not an event or that the adapter refused.
    public static func requestLines(_ adapter: some Adapter, eventLines text: String) throws(AdapterError) -> [String] {
        var out: [String] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            let event: BridgeEvent
            do {
                event = try ABICoding.decodeEvent(Array(trimmed.utf8))
            } catch {
                throw AdapterError(error.code, "line \(index + 1): \(error.message)")
            }
            let requests: [NativeRequest]
            do {
                requests = try adapter.encode(event)
            } catch {
                throw AdapterError(error.code, "line \(index + 1): \(error.message)")
            }
            for r in requests { out.append(requestLine(r)) }
        }
        return out
    }

    /// A request as one JSON line, its body embedded as JSON when it is JSON.
    public static func requestLine(_ request: NativeRequest) -> String {
        let body: JSONValue = request.body.isEmpty ? .null
            : (try? JSONValue.parse(request.body)) ?? .string(String(decoding: request.body, as: UTF8.self))
        let line: JSONValue = [
            "method": .string(request.method), "path": .string(request.path),
            "contentType": .string(request.contentType), "body": body,
        ]
        return String(decoding: line.serialized, as: UTF8.self)
    }
}
