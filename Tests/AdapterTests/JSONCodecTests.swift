import InstagramAdapter
import MessengerAdapter
import ParleyKit
import Testing
import WhatsAppAdapter

/// The adapters' JSON (ParleyKit's `JSONValue` read through MetaGraph's lenient accessors), checked through the
/// public codec API.
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

    @Test func numericIdsAndTimestampsDecodeLikeStrings() throws {
        let wa = WhatsAppAdapter()
        let original = try fixture("whatsapp_text.json")
        let text = String(decoding: original, as: UTF8.self)
        for numeric in [
            text.replacingOccurrences(of: #""16505551234""#, with: "16505551234")
                .replacingOccurrences(of: #""106540352242922""#, with: "106540352242922")
                .replacingOccurrences(of: #""1749416383""#, with: "1749416383"),
            text.replacingOccurrences(of: #""1749416383""#, with: "1749416383.0"),
            text.replacingOccurrences(of: #""1749416383""#, with: "1.749416383e9"),
        ] {
            #expect(numeric != text)
            #expect(try wa.decode(bytes(numeric)) == wa.decode(original))
        }
        // Not integral: no timestamp (WhatsApp requires one); Messenger falls back to the entry's time.
        #expect(adapterError { try wa.decode(bytes(text.replacingOccurrences(of: #""1749416383""#, with: "1749416383.5"))) }?.code == .missingField)
        let fb = MessengerAdapter()
        let item = #"{"sender":{"id":1.50},"recipient":{"id":"PAGE"},"timestamp":TS,"message":{"mid":"m","text":"x"}}"#
        let fractional = try #require(try fb.decode(pageWebhook(item.replacingOccurrences(of: "TS", with: "1.5"))).first)
        #expect(fractional.sender == "1.5")
        #expect(fractional.timestamp == 1_700_000_000_999)
        let quoted = try #require(try fb.decode(pageWebhook(item.replacingOccurrences(of: "TS", with: #""1700000000123""#))).first)
        #expect(quoted.timestamp == 1_700_000_000_123)
    }

    @Test func flagsAreTrueOrTheStringTrueOnly() throws {
        let ig = InstagramAdapter()
        func kind(_ isDeleted: String) throws -> BridgeEvent.Kind? {
            try ig.decode(pageWebhook(#"{"sender":{"id":"U"},"recipient":{"id":"IG"},"timestamp":1,"message":{"mid":"m","text":"t","is_deleted":\#(isDeleted)}}"#,
                                      object: "instagram", entryId: "IG")).first?.kind
        }
        #expect(try kind("true") == .delete)
        #expect(try kind(#""true""#) == .delete)
        for no in ["false", "1", #""1""#, #""TRUE""#, "null"] { #expect(try kind(no) == .message, "\(no)") }
    }

    @Test func deliveryMidsAreStringsOnly() throws {
        let events = try MessengerAdapter().decode(pageWebhook(#"{"sender":{"id":"U"},"recipient":{"id":"PAGE"},"delivery":{"mids":[123,"m2",null],"watermark":5}}"#))
        #expect(events.map(\.target) == ["m2"])
    }

    @Test func invalidAndNonObjectBodiesAreMalformed() {
        for adapter in all {
            for bad in ["{", "", "{\"a\":01}", "nul"] {
                let error = adapterError { try adapter.decode(bytes(bad)) }
                #expect(error?.code == .malformedPayload, "\(adapter.name) \(bad)")
                #expect(error?.message.contains("webhook body is not valid JSON (\(bad.utf8.count) bytes)") == true, "\(error?.message ?? "")")
            }
            for notObject in ["[1]", "\"x\"", "42", "null", "true"] {
                let error = adapterError { try adapter.decode(bytes(notObject)) }
                #expect(error?.code == .malformedPayload, "\(adapter.name) \(notObject)")
                #expect(error?.message.hasSuffix("webhook body is JSON but not an object") == true, "\(error?.message ?? "")")
            }
            // A send answer that is not JSON: a bad response when the status says success, an error otherwise.
            #expect(adapterError { try adapter.decodeSendResponse(status: 200, body: bytes("<html>")) }?.code == .badResponse)
            guard case .retryable = try? adapter.decodeSendResponse(status: 503, body: bytes("<html>")) else {
                Issue.record("\(adapter.name): a 503 with an HTML body is not retryable")
                continue
            }
        }
    }

    @Test func damagedTextIsRepairedNotFatal() throws {
        #expect(try messengerText(#""\ude00 low""#) == "\u{FFFD} low")
        #expect(try messengerText(#""\ud83d\u0041""#) == "\u{FFFD}A")
        #expect(try messengerText(#""\ud83d\ud83d\ude00""#) == "\u{FFFD}😀")
        let invalidUTF8 = pageWebhook(#"{"sender":{"id":"U"},"recipient":{"id":"PAGE"},"timestamp":1,"message":{"mid":"m","text":"a\#u{1}"}}"#)
            .map { $0 == 1 ? 0xFF : $0 }
        #expect(try MessengerAdapter().decode(invalidUTF8).first?.text == "a\u{FFFD}")
    }

    /// Bodies compared byte for byte (the other encode tests compare JSON values): sorted keys, doubles as Swift
    /// prints them, integral codes as numbers, booleans as literals.
    @Test func bodiesAreWrittenByteForByte() throws {
        let wa = WhatsAppAdapter()
        func body(_ adapter: any Adapter, _ event: BridgeEvent) throws -> String {
            String(decoding: try #require(try adapter.encode(event).first).body, as: UTF8.self)
        }
        func location(_ latitude: Double, _ longitude: Double) -> BridgeEvent {
            BridgeEvent(kind: .message, nativeId: "", conversation: "16505551234", sender: "", recipient: "1", timestamp: 0,
                        attachments: [Attachment(kind: "location", caption: "Office", latitude: latitude, longitude: longitude)])
        }
        #expect(try body(wa, location(52.520008, 13.404954)) == #"{"biz_opaque_callback_data":"parley","location":{"latitude":52.520008,"longitude":13.404954,"name":"Office"},"messaging_product":"whatsapp","recipient_type":"individual","to":"16505551234","type":"location"}"#)
        #expect(try body(wa, location(1e-05, -0.0)).contains(#""location":{"latitude":1e-05,"longitude":-0.0,"name":"Office"}"#))
        #expect(try body(wa, location(0.1 + 0.2, 1e16)).contains(#""location":{"latitude":0.30000000000000004,"longitude":1e+16,"name":"Office"}"#))
        #expect(try body(wa, location(-180, 90)).contains(#""location":{"latitude":-180.0,"longitude":90.0,"name":"Office"}"#))
        let nan = adapterError { try wa.encode(location(.nan, 1)) }
        #expect(nan?.code == .internalFailure)
        #expect(nan?.message == "cannot write the non-finite number nan as JSON")

        var failed = BridgeEvent(kind: .receipt, nativeId: "", conversation: "16505551234", sender: "", recipient: "1", timestamp: 0,
                                 target: "m1", status: .failed, failure: .init(code: "131047", message: "w"))
        #expect(try body(wa, failed) == #"{"errors":[{"code":131047,"message":"w","title":"131047"}],"message_id":"m1","messaging_product":"whatsapp","status":"failed"}"#)
        failed.failure = .init(code: "+7", message: "w")
        #expect(try body(wa, failed).hasPrefix(#"{"errors":[{"code":7,"message":"w","title":"+7"}]"#))
        let link = BridgeEvent(kind: .message, nativeId: "", conversation: "16505551234", sender: "", recipient: "1", timestamp: 0,
                               text: "see https://x.example", target: "T1")
        #expect(try body(wa, link) == #"{"biz_opaque_callback_data":"parley","context":{"message_id":"T1"},"messaging_product":"whatsapp","recipient_type":"individual","text":{"body":"see https://x.example","preview_url":true},"to":"16505551234","type":"text"}"#)

        let fb = MessengerAdapter()
        let image = BridgeEvent(kind: .message, nativeId: "", conversation: "PSID", sender: "", recipient: "PAGE", timestamp: 0,
                                target: "T1", attachments: [Attachment(kind: "image", url: "https://x/i.png")])
        #expect(try body(fb, image) == #"{"message":{"attachment":{"payload":{"is_reusable":true,"url":"https://x/i.png"},"type":"image"},"metadata":"parley"},"messaging_type":"RESPONSE","recipient":{"id":"PSID"},"reply_to":{"mid":"T1"}}"#)
        failed.conversation = "PSID"
        failed.failure = nil
        #expect(try body(fb, failed) == #"{"payload":{"error":{"code":"parley.failed","message":"delivery failed"},"message_id":"m1"},"recipient":{"id":"PSID"},"sender_action":"mark_failed"}"#)
        let react = BridgeEvent(kind: .reaction, nativeId: "", conversation: "IGSID", sender: "", recipient: "IG", timestamp: 0, target: "m1", emoji: "😂")
        #expect(try body(InstagramAdapter(), react) == #"{"payload":{"message_id":"m1","reaction":"laugh"},"recipient":{"id":"IGSID"},"sender_action":"react"}"#)
    }
}
