import Foundation
import ParleyKit
import ParleyKitTesting
import Testing
import ExampleAdapter

@Suite struct ConformanceTests {
    @Test func exampleAdapterConformsInProcess() throws {
        let report = AdapterConformance.expectConformance(ExampleAdapter(), fixtures: try TestPaths.fixtures(), options: quickOptions)
        #expect(report.passed, "\(report)")
        #expect(report.checks.count == 8)
    }

    @Test func exampleAdapterConformsWhenLoadedFromItsLibrary() throws {
        let loaded = try AdapterLoader.load(path: TestPaths.exampleLibrary)
        #expect(loaded.name == "example")
        #expect(loaded.capabilities == ExampleAdapter().capabilities)
        let report = AdapterConformance.run(loaded, fixtures: try TestPaths.fixtures(), options: quickOptions)
        #expect(report.passed, "\(report)")
    }

    @Test func exampleAdapterConformsAsAChildProcess() throws {
        let child = try ChildProcessAdapter(command: [TestPaths.exampleChild])
        defer { child.terminate() }
        #expect(child.name == "example")
        #expect(child.capabilities == ExampleAdapter().capabilities)
        let report = AdapterConformance.run(child, fixtures: try TestPaths.fixtures(), options: quickOptions)
        #expect(report.passed, "\(report)")
        #expect(child.restartCount == 0)
    }

    @Test func allThreeTransportsGiveTheSameAnswers() throws {
        let loaded = try AdapterLoader.load(path: TestPaths.exampleLibrary)
        let child = try ChildProcessAdapter(command: [TestPaths.exampleChild])
        defer { child.terminate() }
        let direct = ExampleAdapter()
        for fixture in try TestPaths.fixtures() {
            let expected = try direct.decode(fixture.payload)
            #expect(try loaded.decode(fixture.payload) == expected)
            #expect(try child.decode(fixture.payload) == expected)
            for event in expected {
                #expect(try loaded.encode(event) == direct.encode(event))
                #expect(try child.encode(event) == direct.encode(event))
            }
        }
        let bad = Array("{".utf8)
        #expect(throws: AdapterError.self) { try loaded.decode(bad) }
        do {
            _ = try child.decode(bad)
            Issue.record("bad input decoded")
        } catch {
            #expect(error.code == .malformedPayload, "the child's own error code crosses the pipe")
        }
        #expect(try loaded.decodeSendResponse(status: 400, body: []) == direct.decodeSendResponse(status: 400, body: []))
        #expect(try child.decodeSendResponse(status: 201, body: Array(#"{"id":"x"}"#.utf8)) == .accepted(nativeId: "x"))
    }

    @Test func suiteCatchesADishonestAdapter() {
        let report = AdapterConformance.run(DishonestAdapter(), fixtures: [
            Fixture(name: "one", payload: Array(#"{"n":1}"#.utf8), expectedKinds: [.message, .message]),
        ], options: quickOptions)
        #expect(!report.passed)
        let failed = Set(report.checks.filter { !$0.passed }.map(\.name))
        #expect(failed.isSuperset(of: ["fixtures.decode", "capabilities.inbound", "capabilities.outbound", "robustness",
                                       "determinism", "ids.stable", "fixtures.encode"]), "\(report)")
        #expect(report.description.contains("FAIL"))
    }
}

@Suite struct SendBodyRoundTripTests {
    static let body = Array(#"{"to":"u1","text":"hi","priority":"high"}"#.utf8)

    @Test func aSendBodyThatLosesAFieldOnReEncodingFailsTheSuite() {
        let report = AdapterConformance.run(SendBodyAdapter(keepsPriority: false), fixtures: [
            Fixture(name: "send.json", payload: Self.body, expectedKinds: [.message]),
        ], options: quickOptions)
        let check = report.checks.first { $0.name == "fixtures.send_roundtrip" }
        #expect(check?.passed == false, "\(report)")
        #expect(check?.failures.first?.contains("send.json") == true)
    }

    @Test func aSendBodyThatReEncodesWithEveryFieldPasses() {
        let report = AdapterConformance.run(SendBodyAdapter(keepsPriority: true), fixtures: [
            Fixture(name: "send.json", payload: Self.body, expectedKinds: [.message]),
        ], options: quickOptions)
        let check = report.checks.first { $0.name == "fixtures.send_roundtrip" }
        #expect(check?.passed == true, "\(report)")
        #expect(check?.summary.hasPrefix("1 ") == true)
    }
}

/// Reads `{"to","text","priority"}` send bodies; writes them back with or without `priority`.
private struct SendBodyAdapter: Adapter {
    let keepsPriority: Bool
    let name = "send-body"
    var capabilities: AdapterCapabilities {
        AdapterCapabilities(inboundKinds: [.message], outboundKinds: [.message], maxTextLength: 100,
                            mediaKinds: [], groups: false, reactions: false, edits: false, deletes: false, receipts: [])
    }

    func decode(_ payload: [UInt8]) throws(AdapterError) -> [BridgeEvent] {
        guard case .object(let o)? = try? JSONValue.parse(payload), case .string(let to)? = o["to"],
              case .string(let text)? = o["text"] else { throw AdapterError(.malformedPayload, "not a send body") }
        var metadata = [BridgeEvent.directionKey: BridgeEvent.outboundDirection]
        if case .string(let priority)? = o["priority"] { metadata["priority"] = priority }
        return [BridgeEvent(kind: .message, nativeId: "", conversation: to, sender: "", timestamp: 0, text: text,
                            metadata: metadata)]
    }

    func encode(_ event: BridgeEvent) throws(AdapterError) -> [NativeRequest] {
        var body: [String: JSONValue] = ["to": .string(event.conversation), "text": .string(event.text ?? "")]
        if keepsPriority, let priority = event.metadata["priority"] { body["priority"] = .string(priority) }
        return [NativeRequest(path: "/send", body: JSONValue.object(body).serialized)]
    }

    func decodeSendResponse(status: Int, body: [UInt8]) throws(AdapterError) -> SendOutcome {
        .accepted(nativeId: nil)
    }
}

/// Everything an adapter should not do: it accepts any bytes, claims kinds it cannot handle, answers
/// differently each time, drops ids and builds non-JSON bodies.
private struct DishonestAdapter: Adapter {
    let name = "dishonest"
    var capabilities: AdapterCapabilities {
        AdapterCapabilities(inboundKinds: [.message, .reaction], outboundKinds: [.message, .delete], maxTextLength: 10,
                            mediaKinds: [], groups: false, reactions: false, edits: false, deletes: true, receipts: [])
    }
    private static let counter = Counter()

    func decode(_ payload: [UInt8]) throws(AdapterError) -> [BridgeEvent] {
        [BridgeEvent(kind: .message, nativeId: "n\(Self.counter.next())", conversation: "c1", sender: "s", timestamp: 1, text: "x")]
    }

    func encode(_ event: BridgeEvent) throws(AdapterError) -> [NativeRequest] {
        guard event.kind == .message else { throw AdapterError(.unsupportedEvent, "only messages") }
        return [NativeRequest(path: "/send", body: Array("not json \(Self.counter.next())".utf8))]
    }

    func decodeSendResponse(status: Int, body: [UInt8]) throws(AdapterError) -> SendOutcome {
        .accepted(nativeId: nil)
    }
}

private final class Counter: Sendable {
    private let value = Mutex(0)
    func next() -> Int { value.withLock { $0 += 1; return $0 } }
}

import Synchronization
