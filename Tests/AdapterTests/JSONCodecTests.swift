import InstagramAdapter
import MessengerAdapter
import ParleyKit
import Testing
import WhatsAppAdapter

/// The adapters' own JSON parser and writer, checked through the public codec API.
@Suite struct JSONCodecTests {
    let all: [any Adapter] = [WhatsAppAdapter(), MessengerAdapter(), InstagramAdapter()]

    func messengerText(_ rawJSONString: String) throws -> String? {
        try MessengerAdapter().decode(pageWebhook(
            #"{"sender":{"id":"U"},"recipient":{"id":"PAGE"},"timestamp":1,"message":{"mid":"m","text":\#(rawJSONString)}}"#)).first?.text
    }

    @Test func stringEscapesAndSurrogatePairsDecode() throws {
        #expect(try messengerText(#""a\"b\\c\/d\n\t\u00e9\ud83d\ude00 é""#) == "a\"b\\c/d\n\té😀 é")
        #expect(try messengerText(#""lone \ud83d surrogate""#) == "lone \u{FFFD} surrogate")
    }

    @Test func invalidJSONIsMalformedNeverACrash() {
        let fb = MessengerAdapter()
        for bad in [
            #"{"object":"page","entry":[]} trailing"#, #"{"object":"page","entry":[],}"#, "{\"object\":\"pa\u{01}ge\"}",
            #"{"a":tru}"#, #"{"a":-}"#, #"{"a":1.}"#, #"{"a":"\x"}"#, #"{"a":"\u12"}"#, #"{"a" 1}"#, "", " ",
            String(repeating: "[", count: 100_000), String(repeating: #"{"a":"#, count: 100_000),
        ] {
            #expect(adapterError { try fb.decode(bytes(bad)) }?.code == .malformedPayload, "\(bad.prefix(40))")
        }
    }

    @Test func numbersAndNullsAreRead() throws {
        let events = try MessengerAdapter().decode(pageWebhook(
            #"{"sender":{"id":12345},"recipient":{"id":"PAGE"},"timestamp":1.5e3,"message":{"mid":"m","text":"x","metadata":null}}"#))
        #expect(events.first?.sender == "12345")
        #expect(events.first?.timestamp == 1500)
    }

    @Test func writtenBodiesRoundTripAwkwardText() throws {
        let text = "quote \" backslash \\ slash / newline \n tab \t bell \u{07} nul \u{0} emoji 👍🏽 é"
        let ids = [("106540352242922", "16505551234"), ("PAGE", "PSID"), ("IG", "IGSID")]
        for (adapter, (account, user)) in zip(all, ids) {
            let request = try #require(try adapter.encode(BridgeEvent(
                kind: .message, nativeId: "", conversation: user, sender: "", recipient: account, timestamp: 0, text: text)).first)
            let body = try bodyObject(request)
            let written = (body["text"] as? [String: Any])?["body"] ?? (body["message"] as? [String: Any])?["text"]
            #expect(written as? String == text, "\(adapter.name)")
        }
    }

    @Test func equalEventsGiveByteEqualBodies() throws {
        for (adapter, account) in zip(all, ["1", "PAGE", "IG"]) {
            let event = BridgeEvent(kind: .message, nativeId: "", conversation: "u", sender: "", recipient: account,
                                    timestamp: 0, text: "same", target: "t",
                                    attachments: [Attachment(kind: "image", url: "https://x/i.png")])
            #expect(try adapter.encode(event) == adapter.encode(event))
        }
    }
}
