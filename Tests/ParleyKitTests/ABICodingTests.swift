import Foundation
@testable import ParleyKit
import Testing

/// The hand-written boundary coding of native requests must say exactly what the Codable form says.
@Suite struct ABICodingTests {
    static let requests = [
        NativeRequest(path: "/106540352242922/messages", body: Array(#"{"text":{"body":"héllo \"x\"\n/😀"}}"#.utf8)),
        NativeRequest(method: "PUT", path: "/a/b?c=d&e=\"f\"", contentType: "text/plain; charset=utf-8", body: [0, 9, 10, 99, 100, 255]),
        NativeRequest(path: "/empty", body: []),
    ]

    @Test func requestsEncodeToTheSameBytesAsTheCodableForm() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let codable = Array(try encoder.encode(Self.requests))
        #expect(String(decoding: ABICoding.encodeRequests(Self.requests), as: UTF8.self) == String(decoding: codable, as: UTF8.self))
    }

    @Test func requestsDecodeFromTheCodableFormInAnyKeyOrderAndSpacing() throws {
        #expect(try ABICoding.decodeRequests(ABICoding.encodeRequests(Self.requests), what: "request list") == Self.requests)
        let reordered = #"[ {"path":"/p", "method":"POST", "body":[ 104, 105 ], "contentType":"application/json"} ]"#
        #expect(try ABICoding.decode([NativeRequest].self, from: Array(reordered.utf8), what: "request list")
            == [NativeRequest(path: "/p", body: Array("hi".utf8))])
        let spaced = "\u{FEFF}[\n\t{ \"body\" :\n[ 0 ,255\r\n, 7 ] , \"extra\": {\"x\": [1, 2.5]}, \"method\":\"PUT\",\"path\":\"/q\",\"contentType\":\"t\" } ] "
        #expect(try ABICoding.decodeRequests(Array(spaced.utf8), what: "request list")
            == [NativeRequest(method: "PUT", path: "/q", contentType: "t", body: [0, 255, 7])])
        #expect(try ABICoding.decodeRequests(Array("[]".utf8), what: "request list").isEmpty)
    }

    @Test func bodiesOfEveryByteValueAndLengthRoundTrip() throws {
        var generator = SystemRandomNumberGenerator()
        let bodies = [Array(0...255), [0], [255], [10, 0, 100]]
            + (0..<20).map { _ in (0..<Int.random(in: 1...3000, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) } }
        let requests = bodies.map { NativeRequest(path: "/p", body: $0) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let bytes = ABICoding.encodeRequests(requests)
        #expect(bytes == Array(try encoder.encode(requests)))
        #expect(try ABICoding.decodeRequests(bytes, what: "request list") == requests)
    }

    @Test(arguments: [
        #"{"path":"/p"}"#, #"[{"path":"/p","method":"POST","contentType":"x","body":[256]}]"#,
        #"[{"path":"/p","method":"POST","contentType":"x","body":["1"]}]"#, #"[{"method":"POST"}]"#, "[", "",
        #"[{"path":"/p","method":"POST","contentType":"x","body":[1.5]}]"#, #"[{"path":"/p","method":"POST","contentType":"x","body":[-1]}]"#,
        #"[{"path":"/p","method":"POST","contentType":"x","body":[01]}]"#, #"[{"path":"/p","method":"POST","contentType":"x","body":[1,]}]"#,
        #"[{"path":"/p","method":"POST","contentType":"x","body":[2555]}]"#, #"[{"path":"/p","method":"POST","contentType":"x","body":{}}]"#,
        #"[{"path":"/p","method":"POST","contentType":"x","body":[1e2]}]"#, #"[{"path":"/p","method":"POST","contentType":"x","body":[]}] x"#,
        #"[{"path":"/p","method":"POST","contentType":"x","body":[]},]"#, #"[{"path":"/p","method":"POST","contentType":"x","body":[]"#,
    ])
    func malformedRequestListsAreTheAdaptersFault(_ text: String) {
        #expect(throws: AdapterError.self) { try ABICoding.decodeRequests(Array(text.utf8), what: "request list") }
        do {
            _ = try ABICoding.decodeRequests(Array(text.utf8), what: "request list")
        } catch {
            #expect(error.code == .internalFailure)
        }
    }
}

/// Events cross the boundary through JSONValue; what Codable writes and reads must not change.
@Suite struct ABIEventCodingTests {
    static let events = [
        BridgeEvent(kind: .message, nativeId: "wamid.1", conversation: "16505551234", sender: "16505551234",
                    recipient: "106540352242922", timestamp: 1_749_416_383_000, text: "héllo \"quoted\"\n😀", target: "wamid.0",
                    attachments: [Attachment(kind: "image", url: "https://x/y.jpg", mediaId: "m1", mimeType: "image/jpeg",
                                             caption: "c", filename: "f.jpg", sha256: "ab"),
                                  Attachment(kind: "location", latitude: 37.7749, longitude: -122.4194)],
                    isGroup: true, metadata: ["subtype": "reply", "name": "Ann"]),
        BridgeEvent(kind: .receipt, nativeId: "", conversation: "c", sender: "s", timestamp: 0, target: "m", status: .failed,
                    watermark: 1_700_000_000_000, failure: .init(code: "131051", message: "unsupported")),
        BridgeEvent(kind: .reaction, nativeId: "r", conversation: "c", sender: "s", timestamp: -1, emoji: ""),
    ]

    @Test func eventsEncodeToWhatCodableReadsBack() throws {
        let bytes = try ABICoding.encode(Self.events)
        #expect(try JSONDecoder().decode([BridgeEvent].self, from: Data(bytes)) == Self.events)
        for event in Self.events {
            #expect(try JSONDecoder().decode(BridgeEvent.self, from: Data(try ABICoding.encode(event))) == event)
        }
    }

    @Test func eventsDecodeFromWhatCodableWrites() throws {
        let codable = Array(try JSONEncoder().encode(Self.events))
        #expect(try ABICoding.decode([BridgeEvent].self, from: codable, what: "event list") == Self.events)
        for event in Self.events {
            #expect(try ABICoding.decodeEvent(Array(try JSONEncoder().encode(event))) == event)
        }
    }

    @Test func eventsEncodeToTheSameBytesAsFoundationsSortedCodableForm() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        #expect(String(decoding: try ABICoding.encode(Self.events), as: UTF8.self)
            == String(decoding: try encoder.encode(Self.events), as: UTF8.self))
        for event in Self.events {
            #expect(try ABICoding.encode(event) == Array(try encoder.encode(event)))
        }
    }

    @Test func eventsDecodeInAnyMemberOrderWithNullsSpacesAndUnknownMembers() throws {
        let text = """
            \u{FEFF}[ { "timestamp" : 5, "future": {"a": [1, {"b": null}]}, "text": "a\\"b\\u00e9\\ud83d\\ude00",
              "recipient": null, "watermark": null, "isGroup": false, "attachments": null, "metadata": {"k": "v"},
              "sender": "s", "conversation": "c", "kind": "message" } ]\n
            """
        let expected = BridgeEvent(kind: .message, nativeId: "", conversation: "c", sender: "s", timestamp: 5, text: "a\"bé😀",
                                   metadata: ["k": "v"])
        #expect(try ABICoding.decode([BridgeEvent].self, from: Array(text.utf8), what: "event list") == [expected])
        #expect(ABICoding.readEvents(Array(text.utf8)) == [expected])
        #expect(try ABICoding.decode([BridgeEvent].self, from: Array("[]".utf8), what: "event list").isEmpty)
    }

    @Test(arguments: [
        #"{"kind":"shout","conversation":"c","sender":"s","timestamp":1}"#, #"{"kind":"message","conversation":"c","sender":"s","timestamp":1.5}"#,
        #"{"kind":"message","conversation":"c","sender":"s","timestamp":1,"status":"lost"}"#,
        #"{"kind":"message","conversation":"c","sender":"s","timestamp":1,"text":7}"#,
        #"{"kind":"message","conversation":"c","sender":"s","timestamp":1,"isGroup":"yes"}"#,
        #"{"kind":"message","conversation":"c","sender":"s","timestamp":1,"metadata":{"n":1}}"#,
        #"{"kind":"message","conversation":"c","sender":"s","timestamp":1,"failure":{"code":"x"}}"#,
        #"{"kind":"message","conversation":"c","sender":"s","timestamp":1,"attachments":[{"url":"u"}]}"#,
        #"{"kind":"message","conversation":null,"sender":"s","timestamp":1}"#, #"{"kind":"message","conversation":"c","sender":"s","timestamp":1} x"#,
#"[{"kind":"message","conversation":"c","sender":"s","timestamp":1}]"#,
    ])
    func eventsThatAreNotExactlyTheCodableFormAreRefusedWithAnAdapterError(_ text: String) {
        #expect(ABICoding.readEvent(Array(text.utf8)) == nil)
        #expect(ABICoding.readEvents(Array("[\(text)]".utf8)) == nil)
        #expect(throws: AdapterError.self) { try ABICoding.decodeEvent(Array(text.utf8)) }
        #expect(throws: AdapterError.self) { try ABICoding.decode([BridgeEvent].self, from: Array("[\(text)]".utf8), what: "event list") }
    }

    @Test func anEventTheFastReadingRefusesStillGetsCodablesError() {
        let bad = Array(#"{"kind":"message","conversation":"c","sender":"s","timestamp":"soon"}"#.utf8)
        #expect(throws: AdapterError.self) { try ABICoding.decodeEvent(bad) }
        let missing = Array(#"[{"kind":"message","sender":"s","timestamp":1}]"#.utf8)
        #expect(throws: AdapterError.self) { try ABICoding.decode([BridgeEvent].self, from: missing, what: "event list") }
    }
}

/// The string writer every hand-written JSON path shares (the boundary, JSONValue.serialized, the Meta adapters).
@Suite struct JSONStringWriterTests {
    @Test func stringsAreEscapedOnlyWhereJSONRequires() {
        func written(_ s: String) -> String {
            var out: [UInt8] = []
            JSONValue.appendString(s, to: &out)
            return String(decoding: out, as: UTF8.self)
        }
        #expect(written("") == #""""#)
        #expect(written("plain / text é 😀") == #""plain / text é 😀""#)
        #expect(written("q\"b\\n\nr\rt\t\u{0}\u{1F}\u{7F}") == #""q\"b\\n\nr\rt\t\u0000\u001f"# + "\u{7F}\"")
        #expect(written("\"\"") == #""\"\"""#)
    }

    @Test func everyStringReadsBackThroughJSONDecoderUnchanged() throws {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [Character] = ["a", "\"", "\\", "\n", "\u{0}", "\u{1}", "\u{1F}", "/", "é", "😀", " ", "\t", "\r", "\u{8}", "\u{C}"]
        for _ in 0..<200 {
            let s = String((0..<Int.random(in: 0...40, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
            var out: [UInt8] = []
            JSONValue.appendString(s, to: &out)
            #expect(try JSONDecoder().decode(String.self, from: Data(out)) == s)
            #expect(try JSONValue.parse(out) == .string(s))
        }
    }
}

@Suite struct ABIOutcomeCodingTests {
    static let outcomes: [SendOutcome] = [
        .accepted(nativeId: "wamid.1"), .accepted(nativeId: nil),
        .rejected(.init(code: "131051", message: "bad \"type\"")), .retryable(.init(code: "http.503", message: "later")),
    ]

    @Test func outcomesCrossTheBoundaryInTheirCodableForm() throws {
        for outcome in Self.outcomes {
            #expect(try JSONDecoder().decode(SendOutcome.self, from: Data(try ABICoding.encode(outcome))) == outcome)
            #expect(try ABICoding.decode(SendOutcome.self, from: Array(try JSONEncoder().encode(outcome)), what: "send outcome") == outcome)
        }
    }

    @Test func binaryRequestListsRoundTripWithAnyBytes() throws {
        let requests = [
            NativeRequest(method: "POST", path: "/v1/messages?x=ä", contentType: "application/json", body: Array(0...255)),
            NativeRequest(method: "DELETE", path: "/m/1", contentType: "", body: []),
        ]
        let bytes = ABICoding.encodeRequestList(requests)
        #expect(bytes.starts(with: ABICoding.requestListMagic))
        #expect(try ABICoding.decodeRequests(bytes, what: "requests") == requests)
        #expect(try ABICoding.decodeRequests(ABICoding.encodeRequestList([]), what: "requests") == [])
    }

    @Test func aBrokenBinaryRequestListIsAnErrorNotACrash() throws {
        let good = ABICoding.encodeRequestList([NativeRequest(path: "/p", body: Array("{}".utf8))])
        var cases: [[UInt8]] = (0..<good.count).map { Array(good.prefix($0)) }.filter { $0.first == 0 }   // every truncation
        cases.append(good + [0])                                                     // trailing byte
        cases.append(ABICoding.requestListMagic + [0xFF, 0xFF, 0xFF, 0xFF])          // a count far beyond the bytes
        var badUTF8 = ABICoding.requestListMagic + [0, 0, 0, 1, 0, 0, 0, 1, 0xFF]
        badUTF8 += [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        cases.append(badUTF8)                                                        // a method that is not UTF-8
        for bytes in cases {
            #expect(throws: AdapterError.self, "\(bytes)") { try ABICoding.decodeRequests(bytes, what: "requests") }
        }
    }
}
