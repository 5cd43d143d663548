import ParleyKit
import Testing

@Suite struct JSONValueTests {
    @Test func parsesAndKeepsNumberLiteralsExactly() throws {
        let v = try JSONValue.parse(Array(#"{"id": 17841400000000001234, "ts": "1749416383", "n": -1.5e3, "ok": true, "x": null, "a": [1, "2"]}"#.utf8))
        #expect(v["id"]?.string == "17841400000000001234")
        #expect(v["ts"]?.int64 == 1_749_416_383)
        #expect(v["n"]?.double == -1500)
        #expect(v["ok"]?.bool == true)
        #expect(v["x"]?.isNull == true)
        #expect(v["a"]?[1]?.int64 == 2)
        #expect(v["a"]?[5] == nil)
        #expect(v["missing"] == nil)
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let v = try JSONValue.parse(Array(#"["a\"b\\c\/d\n", "\u00e4\ud83d\udc4d"]"#.utf8))
        #expect(v[0]?.string == "a\"b\\c/d\n")
        #expect(v[1]?.string == "ä👍")
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\" 1}", "01", "1.", "\"\\x\"", "\"\\ud800\"", "tru", "[1] 2", "\"a\u{01}\"", "\"unterminated", "[\"a\", \"b]"])
    func rejectsInvalidJSON(_ text: String) {
        do {
            _ = try JSONValue.parse(Array(text.utf8))
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.code == .malformedPayload)
        }
    }

    @Test func rejectsInvalidUTF8AndDeepNesting() {
        #expect(throws: AdapterError.self) { try JSONValue.parse([0x22, 0xFF, 0x22]) }
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: AdapterError.self) { try JSONValue.parse(Array(deep.utf8)) }
    }

    @Test func repairingTextReplacesLoneSurrogatesAndInvalidUTF8() throws {
        for (json, text) in [(#""a\ud83d""#, "a\u{FFFD}"), (#""\ude00\ud83d\ude00""#, "\u{FFFD}😀"), (#""\ud83d\u0041""#, "\u{FFFD}A")] {
            #expect(throws: AdapterError.self) { try JSONValue.parse(Array(json.utf8)) }
            #expect(try JSONValue.parse(Array(json.utf8), repairingText: true) == .string(text))
        }
        #expect(try JSONValue.parse([0x22, 0xFF, 0x22], repairingText: true) == .string("\u{FFFD}"))
        #expect(try JSONValue.parse([0x22, 0x5C, 0x6E, 0xC3, 0x22], repairingText: true) == .string("\n\u{FFFD}"))
        // Only text is repaired: bad escapes and structure still fail.
        #expect(throws: AdapterError.self) { try JSONValue.parse(Array(#""\ud83d\u12""#.utf8), repairingText: true) }
        #expect(throws: AdapterError.self) { try JSONValue.parse(Array("[01]".utf8), repairingText: true) }
    }

    @Test func serializesWithSortedKeysAndRoundTrips() throws {
        let v: JSONValue = ["b": 1, "a": ["x\n", true, nil]]
        let text = String(decoding: v.serialized, as: UTF8.self)
        #expect(text == #"{"a":["x\n",true,null],"b":1}"#)
        #expect(try JSONValue.parse(v.serialized) == v)
    }
}

@Suite struct HelperTests {
    @Test func timestampsInSecondsOrMillisecondsBecomeMilliseconds() {
        #expect(Timestamps.unixMilliseconds(.string("1749416383")) == 1_749_416_383_000)
        #expect(Timestamps.unixMilliseconds(.number("1749416383")) == 1_749_416_383_000)
        #expect(Timestamps.unixMilliseconds(.number("1749416383123")) == 1_749_416_383_123)
        #expect(Timestamps.unixMilliseconds(.string("1749416383.5")) == 1_749_416_383_500)
        #expect(Timestamps.unixMilliseconds(.string("2025-06-08T20:59:43Z")) == 1_749_416_383_000)
        #expect(Timestamps.unixMilliseconds(.string("yesterday")) == nil)
        #expect(Timestamps.unixMilliseconds(.bool(true)) == nil)
        #expect(Timestamps.unixMilliseconds(.number("-5")) == nil)
        #expect(Timestamps.secondsString(fromMilliseconds: 1_749_416_383_999) == "1749416383")
    }

    @Test func phoneNumbersNormaliseToDigits() {
        #expect(NativeIDs.phoneDigits("+1 650-555-1234") == "16505551234")
        #expect(NativeIDs.user("+1 (650) 555.1234") == "16505551234")
        #expect(NativeIDs.user("US.13491208655302741918") == "US.13491208655302741918")
        #expect(NativeIDs.user("   ") == nil)
        #expect(NativeIDs.phoneDigits("no digits") == nil)
    }
}

@Suite struct TranslateTests {
    @Test func nativePayloadBecomesOneSortedJSONLinePerEvent() throws {
        let lines = try Translate.eventLines(ExampleAdapterShim.adapter, payload: try TestPaths.fixture("edit_and_delete.json"))
        #expect(lines.count == 2)
        #expect(lines[0].hasPrefix(#"{"conversation":"c42","kind":"edit","nativeId":"e1""#))
        #expect(lines.allSatisfy { !$0.contains("\n") })
    }

    @Test func eventLinesBecomeRequestLinesAndBadLinesAreNamed() throws {
        let events = try Translate.eventLines(ExampleAdapterShim.adapter, payload: try TestPaths.fixture("reaction.json"))
        let requests = try Translate.requestLines(ExampleAdapterShim.adapter, eventLines: events.joined(separator: "\n") + "\n\n")
        #expect(requests == [#"{"body":{"emoji":"👍","message":"m1"},"contentType":"application/json","method":"POST","path":"/v1/chats/c42/reactions"}"#])
        do {
            _ = try Translate.requestLines(ExampleAdapterShim.adapter, eventLines: events[0] + "\n{oops")
            Issue.record("a bad line was accepted")
        } catch {
            #expect(error.message.hasPrefix("line 2:"))
        }
    }
}

import ExampleAdapter
enum ExampleAdapterShim { static let adapter = ExampleAdapter() }
