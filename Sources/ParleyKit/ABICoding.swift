import Foundation

/// The byte encoding of everything that crosses the adapter boundary (the C table and the child-process frames):
/// the JSON Codable form of the shared types, with sorted keys so equal values give equal bytes.
enum ABICoding {
    static func encode<T: Encodable>(_ value: T) throws(AdapterError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(value))
        } catch {
            throw AdapterError(.internalFailure, "could not encode \(T.self) for the adapter boundary: \(error)")
        }
    }

    /// Decodes bytes that the other side of the boundary produced; a failure is the other side's fault.
    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], what: String) throws(AdapterError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            throw AdapterError(.internalFailure, "the adapter boundary carried an invalid \(what): \(error)")
        }
    }

    /// Decodes an event the host sent to the adapter; a failure is bad input to the adapter.
    static func decodeEvent(_ bytes: [UInt8]) throws(AdapterError) -> BridgeEvent {
        do {
            return try JSONDecoder().decode(BridgeEvent.self, from: Data(bytes))
        } catch {
            throw AdapterError(.malformedPayload, "the event is not a valid BridgeEvent JSON object: \(error)")
        }
    }

    /// The AdapterError of an error buffer, or a generic one if the buffer itself is unreadable.
    static func decodeError(_ bytes: [UInt8]) -> AdapterError {
        (try? JSONDecoder().decode(AdapterError.self, from: Data(bytes)))
            ?? AdapterError(.internalFailure, "the adapter reported an error that could not be read: "
                + String(decoding: bytes.prefix(200), as: UTF8.self))
    }
}

/// What the child-process handshake carries and ``AdapterLoader`` checks: who the adapter is.
struct AdapterHello: Codable, Sendable, Hashable {
    var abiVersion: UInt32
    var name: String
    var capabilities: AdapterCapabilities
}
