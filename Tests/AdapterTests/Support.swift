import Foundation
import ParleyKit
import Testing

/// The bytes of the repository's copy of a shared native fixture.
func fixture(_ name: String) throws -> [UInt8] {
    Array(try #require(NativeFixtures.all[name], "no fixture \(name) in \(NativeFixtures.directory)").utf8)
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// ParleyCore's attachment, not Swift Testing's.
typealias Attachment = ParleyCore.Attachment

/// The error a throwing adapter call raised, or `nil` when it returned.
func adapterError<T>(_ body: () throws -> T, sourceLocation: SourceLocation = #_sourceLocation) -> AdapterError? {
    do {
        _ = try body()
        return nil
    } catch let error as AdapterError {
        return error
    } catch {
        Issue.record("expected an AdapterError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Parses JSON bytes into Foundation values.
func parseJSON(_ data: [UInt8]) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(data), options: [.fragmentsAllowed])
}

/// A canonical text form of a JSON value (sorted keys), so JSON-equality is string equality.
func canonical(_ value: Any) throws -> String {
    String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]),
           as: UTF8.self)
}

/// `base` with `additions` merged in, recursively for nested objects.
func merged(_ base: Any, _ additions: [String: Any]) -> Any {
    guard var object = base as? [String: Any] else { return base }
    for (key, value) in additions {
        if let nested = value as? [String: Any], let existing = object[key] as? [String: Any] {
            object[key] = merged(existing, nested)
        } else {
            object[key] = value
        }
    }
    return object
}

/// Checks that a request's body is JSON-equal to a fixture plus the documented Parley additions.
func expectBody(
    _ request: NativeRequest, equalsFixture name: String, adding additions: [String: Any] = [:],
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let expected = merged(try parseJSON(try fixture(name)), additions)
    #expect(try canonical(parseJSON(request.body)) == canonical(expected), sourceLocation: sourceLocation)
    #expect(request.method == "POST", sourceLocation: sourceLocation)
    #expect(request.contentType == "application/json", sourceLocation: sourceLocation)
}

/// The body of a request as a JSON object.
func bodyObject(_ request: NativeRequest) throws -> [String: Any] {
    try #require(try parseJSON(request.body) as? [String: Any])
}

/// Checks that a request's body is JSON-equal to the given literal.
func expectBody(_ request: NativeRequest, equals json: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    #expect(try canonical(parseJSON(request.body)) == canonical(parseJSON(bytes(json))), sourceLocation: sourceLocation)
}

/// Wraps one `messaging[]` element (as Meta's reference pages print them) in a full webhook body.
func envelope(object: String, entryId: String, time: Int64, element: [UInt8], key: String = "messaging") throws -> [UInt8] {
    let item = try parseJSON(element)
    let body: [String: Any] = ["object": object, "entry": [["id": entryId, "time": time, key: [item]] as [String: Any]]]
    return Array(try JSONSerialization.data(withJSONObject: body))
}
