import InstagramAdapter
import ParleyKit
import Testing

func igWebhook(_ items: String, key: String = "messaging") -> [UInt8] {
    pageWebhook(items, key: key, object: "instagram", entryId: "IG")
}

@Suite struct InstagramDecodeTests {
    let ig = InstagramAdapter()

    @Test func textFixtureDecodesToAMessage() throws {
        #expect(try ig.decode(fixture("instagram_text.json")) == [BridgeEvent(
            kind: .message, nativeId: "external_id", conversation: "5678", sender: "5678", recipient: "1234567890",
            timestamp: 1_459_991_487_970, text: "Hello World")])
    }

    @Test func imageFixtureDecodesToAnImageByUrl() throws {
        #expect(try ig.decode(fixture("instagram_image.json")) == [BridgeEvent(
            kind: .message, nativeId: "external_id", conversation: "5678", sender: "5678", recipient: "1234567890",
            timestamp: 1_459_991_487_970, attachments: [Attachment(kind: "image", url: "https://image-url/foo.png")])])
    }

    @Test func reactionFixtureIsAReactionWithEmojiAndName() throws {
        let mid = "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA0NjQ1NTkzNDMzOjM0MDI4MjM2Njg0MTcxMDMwMTI0NDI1ODY0MDc4MjI2ODU3NDAyMjozMjcyNjk1NTA1MjUxNTczODkyODQ3ODE4Mjc3MjMxMDAxNgZDZD"
        #expect(try ig.decode(fixture("instagram_reaction.json")) == [BridgeEvent(
            kind: .reaction, nativeId: "\(mid):react:6234380736598057:1774131815375", conversation: "6234380736598057",
            sender: "6234380736598057", recipient: "17841404645593433", timestamp: 1_774_131_815_375, target: mid,
            emoji: "👍", metadata: ["reaction": "like"])])
    }

    @Test func seenFixtureIsAPerMessageReadReceipt() throws {
        #expect(try ig.decode(fixture("instagram_seen.json")) == [BridgeEvent(
            kind: .receipt, nativeId: "MESSAGE-ID:read", conversation: "5614879045272581", sender: "5614879045272581",
            recipient: "17841452691600098", timestamp: 1_668_022_333_735, target: "MESSAGE-ID", status: .read)])
    }

    @Test func storyReplyCarriesTheStoryInMetadata() throws {
        let events = try ig.decode(igWebhook(#"""
        {"sender":{"id":"U"},"recipient":{"id":"IG"},"timestamp":5,
         "message":{"mid":"aWdf1","text":"nice!","reply_to":{"story":{"url":"https:\/\/lookaside.fbsbx.com\/ig_messaging_cdn\/?asset_id=1","id":"17900"}}}}
        """#))
        #expect(events == [BridgeEvent(
            kind: .message, nativeId: "aWdf1", conversation: "U", sender: "U", recipient: "IG", timestamp: 5, text: "nice!",
            metadata: ["subtype": "story_reply", "story_url": "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1", "story_id": "17900"])])
    }

    @Test func storyMentionIsAStoryMentionAttachment() throws {
        let events = try ig.decode(igWebhook(#"""
        {"sender":{"id":"U"},"recipient":{"id":"IG"},"timestamp":5,
         "message":{"mid":"aWdf2","attachments":[{"type":"story_mention","payload":{"url":"https://cdn/story"}}]}}
        """#))
        #expect(events.first?.kind == .message)
        #expect(events.first?.attachments == [Attachment(kind: "story_mention", url: "https://cdn/story")])
        #expect(events.first?.metadata["subtype"] == "story_mention")
    }

    @Test func isDeletedAsBoolOrStringIsADelete() throws {
        for flag in ["true", #""true""#] {
            let events = try ig.decode(igWebhook(
                #"{"sender":{"id":"U"},"recipient":{"id":"IG"},"timestamp":6,"message":{"mid":"aWdf3","is_deleted":\#(flag)}}"#))
            #expect(events == [BridgeEvent(kind: .delete, nativeId: "aWdf3:deleted", conversation: "U", sender: "U",
                                           recipient: "IG", timestamp: 6, target: "aWdf3")])
        }
    }

    @Test func likeHeartIsAHeartMessage() throws {
        let events = try ig.decode(igWebhook(
            #"{"sender":{"id":"U"},"recipient":{"id":"IG"},"timestamp":7,"message":{"mid":"aWdf4","attachments":[{"type":"like_heart"}]}}"#))
        #expect(events == [BridgeEvent(kind: .message, nativeId: "aWdf4", conversation: "U", sender: "U", recipient: "IG",
                                       timestamp: 7, text: "❤️", metadata: ["subtype": "like_heart"])])
    }

    @Test func unsupportedTypeAttachmentIsUnsupported() throws {
        let events = try ig.decode(igWebhook(
            #"{"sender":{"id":"U"},"recipient":{"id":"IG"},"timestamp":7,"message":{"mid":"aWdf5","attachments":[{"type":"unsupported_type","payload":{}}],"is_unsupported":true}}"#))
        #expect(events.map(\.kind) == [.unsupported])
        #expect(events.first?.metadata["unsupported_type"] == "unsupported_type")
    }

    @Test func echoInTheNormalStreamIsAnEcho() throws {
        let events = try ig.decode(igWebhook(#"""
        {"sender":{"id":"IG"},"recipient":{"id":"U"},"timestamp":8,"message":{"mid":"aWdf6","text":"from the bridge","is_echo":true,"metadata":"parley"}}
        """#))
        #expect(events == [BridgeEvent(kind: .echo, nativeId: "aWdf6", conversation: "U", sender: "IG", recipient: "IG",
                                       timestamp: 8, text: "from the bridge", metadata: ["metadata": "parley", "parley": "1"])])
    }

    @Test func unreactAndStandbyAreDecoded() throws {
        let events = try ig.decode(igWebhook(
            #"{"sender":{"id":"U"},"recipient":{"id":"IG"},"timestamp":9,"reaction":{"mid":"aWdf7","action":"unreact"}}"#, key: "standby"))
        #expect(events.first?.kind == .reaction)
        #expect(events.first?.emoji == nil)
        #expect(events.first?.metadata["standby"] == "1")
    }

    @Test func changesOnlyBodiesYieldNoEventsAndWrongObjectsFail() throws {
        #expect(try ig.decode(bytes(#"{"object":"instagram","entry":[{"id":"IG","time":1,"changes":[{"field":"comments","value":{}}]}]}"#)).isEmpty)
        #expect(adapterError { try ig.decode(bytes(#"{"object":"page","entry":[]}"#)) }?.code == .malformedPayload)
        #expect(adapterError { try ig.decode(bytes("{\"object\":")) }?.code == .malformedPayload)
        #expect(adapterError { try ig.decode(igWebhook(#"{"sender":{"id":"U"},"read":{}}"#)) }?.code == .missingField)
        #expect(adapterError { try ig.decode(igWebhook(#"{"sender":{"id":"U"},"message":{"text":"no mid"}}"#)) }?.code == .missingField)
    }
}

@Suite struct InstagramEncodeTests {
    let ig = InstagramAdapter()
    let tagged: [String: Any] = ["message": ["metadata": "parley"]]

    func out(_ kind: BridgeEvent.Kind, text: String? = nil, target: String? = nil, emoji: String? = nil,
             status: BridgeEvent.Status? = nil, attachments: [Attachment] = []) -> BridgeEvent {
        BridgeEvent(kind: kind, nativeId: "", conversation: "<IGSID>", sender: "", recipient: "17841404645593433",
                    timestamp: 0, text: text, target: target, emoji: emoji, status: status, attachments: attachments)
    }

    @Test func textMatchesTheSendTextFixturePlusTag() throws {
        let requests = try ig.encode(out(.message, text: "<TEXT_OR_LINK>"))
        #expect(requests.map(\.path) == ["/17841404645593433/messages"])
        try expectBody(try #require(requests.first), equalsFixture: "instagram_send_text.json", adding: tagged)
    }

    @Test func imageMatchesTheSendImageFixturePlusTag() throws {
        let requests = try ig.encode(out(.message, attachments: [Attachment(kind: "image", url: "<IMAGE_URL>")]))
        try expectBody(try #require(requests.first), equalsFixture: "instagram_send_image.json", adding: tagged)
    }

    @Test func reactionMatchesTheSendReactionFixture() throws {
        let requests = try ig.encode(out(.reaction, target: "<MESSAGE_ID>", emoji: "❤️"))
        try expectBody(try #require(requests.first), equalsFixture: "instagram_send_reaction.json")
        let unknown = try #require(try ig.encode(out(.reaction, target: "m", emoji: "🦄")).first)
        #expect((try bodyObject(unknown)["payload"] as? [String: String])?["reaction"] == "love")
        try expectBody(try #require(try ig.encode(out(.reaction, target: "m")).first),
                       equals: #"{"recipient":{"id":"<IGSID>"},"sender_action":"unreact","payload":{"message_id":"m"}}"#)
    }

    @Test func replyAndReceipts() throws {
        let reply = try #require(try ig.encode(out(.message, text: "yes", target: "aWdf1")).first)
        try expectBody(reply, equals: #"{"recipient":{"id":"<IGSID>"},"message":{"text":"yes","metadata":"parley"},"reply_to":{"mid":"aWdf1"}}"#)
        try expectBody(try #require(try ig.encode(out(.receipt, target: "aWdf1", status: .read)).first),
                       equals: #"{"recipient":{"id":"<IGSID>"},"sender_action":"mark_seen","payload":{"message_id":"aWdf1"}}"#)
        var failed = out(.receipt, target: "aWdf1", status: .failed)
        failed.failure = .init(code: "131047", message: "closed")
        try expectBody(try #require(try ig.encode(failed).first),
                       equals: #"{"recipient":{"id":"<IGSID>"},"sender_action":"mark_failed","payload":{"message_id":"aWdf1","error":{"code":"131047","message":"closed"}}}"#)
    }

    @Test func limitIs1000Utf8Bytes() throws {
        #expect(try ig.encode(out(.message, text: String(repeating: "a", count: 1000))).count == 1)
        // 500 characters, but 1000+ bytes.
        #expect(adapterError { try ig.encode(out(.message, text: String(repeating: "é", count: 501))) }?.code == .limitExceeded)
        #expect(ig.capabilities.textLimitUnit == .utf8Bytes)
        #expect(ig.capabilities.maxTextLength == 1000)
    }

    @Test func editsAndDeletesAreRefused() {
        #expect(adapterError { try ig.encode(out(.edit, text: "x", target: "m")) }?.code == .unsupportedEvent)
        #expect(adapterError { try ig.encode(out(.delete, target: "m")) }?.code == .unsupportedEvent)
    }

    @Test func sendResponsesMapToOutcomes() throws {
        #expect(try ig.decodeSendResponse(status: 200, body: bytes(#"{"recipient_id":"1","message_id":"aWdfNEW"}"#)) == .accepted(nativeId: "aWdfNEW"))
        guard case .retryable = try ig.decodeSendResponse(status: 400, body: bytes(#"{"error":{"message":"limit","code":4}}"#)) else {
            Issue.record("code 4 must be retryable")
            return
        }
        guard case .rejected(let f) = try ig.decodeSendResponse(status: 403, body: bytes("<html>")) else {
            Issue.record("a 403 without a JSON body must be rejected")
            return
        }
        #expect(f.code == "http.403")
    }
}
