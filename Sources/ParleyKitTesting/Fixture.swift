import Foundation
import ParleyKit

/// A native payload and the event kinds its adapter must decode it to, in order.
public struct Fixture: Sendable, Hashable {
    public var name: String
    public var payload: [UInt8]
    public var expectedKinds: [BridgeEvent.Kind]

    public init(name: String, payload: [UInt8], expectedKinds: [BridgeEvent.Kind]) {
        self.name = name
        self.payload = payload
        self.expectedKinds = expectedKinds
    }

    /// Loads a fixture directory: native payload files plus an `expected.json` that maps each file name to the
    /// kinds it decodes to, e.g. `{"text.json": ["message"], "edit_and_delete.json": ["edit", "delete"]}`.
    public static func load(directory: String) throws(FixtureError) -> [Fixture] {
        let manifestPath = (directory as NSString).appendingPathComponent("expected.json")
        guard let manifestData = FileManager.default.contents(atPath: manifestPath) else {
            throw FixtureError("no expected.json in \(directory): it must map each fixture file to its event kinds")
        }
        let manifest: JSONValue
        do {
            manifest = try JSONValue.parse(Array(manifestData))
        } catch {
            throw FixtureError("\(manifestPath): \(error.message)")
        }
        guard let entries = manifest.object else { throw FixtureError("\(manifestPath) must be a JSON object") }
        var fixtures: [Fixture] = []
        for file in entries.keys.sorted() {
            guard let list = entries[file]?.array else { throw FixtureError("\(manifestPath): \(file) must map to an array of kinds") }
            var kinds: [BridgeEvent.Kind] = []
            for item in list {
                guard let raw = item.string, let kind = BridgeEvent.Kind(rawValue: raw) else {
                    throw FixtureError("\(manifestPath): \(file) lists \(item), not one of \(BridgeEvent.Kind.allCases.map(\.rawValue))")
                }
                kinds.append(kind)
            }
            let path = (directory as NSString).appendingPathComponent(file)
            guard let data = FileManager.default.contents(atPath: path) else { throw FixtureError("cannot read fixture \(path)") }
            fixtures.append(Fixture(name: file, payload: Array(data), expectedKinds: kinds))
        }
        return fixtures
    }
}

/// A fixture directory that cannot be used.
public struct FixtureError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "fixtures: \(message)" }
}
