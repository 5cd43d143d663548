import Foundation
import ParleySim
import Testing

private func waText(_ to: String, _ body: String) -> JSONValue {
    .object([("messaging_product", "whatsapp"), ("recipient_type", "individual"), ("to", .string(to)), ("type", "text"),
             ("text", .object([("body", .string(body))]))])
}

private func pageText(_ to: String, _ text: String) -> JSONValue {
    .object([("recipient", .object([("id", .string(to))])), ("messaging_type", "RESPONSE"), ("message", .object([("text", .string(text))]))])
}

private func expectGraphError(_ r: SimulatorClient.RawResponse, status: Int, code: Int64, subcode: Int64? = nil,
                              sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(r.status == status, "status \(r.status): \(r.text)", sourceLocation: sourceLocation)
    let e = r.json?["error"]
    #expect(e?["type"]?.string == "OAuthException", sourceLocation: sourceLocation)
    #expect(e?["code"]?.int == code, "\(r.text)", sourceLocation: sourceLocation)
    #expect(e?["message"]?.string?.isEmpty == false, sourceLocation: sourceLocation)
    #expect(e?["fbtrace_id"]?.string?.isEmpty == false, sourceLocation: sourceLocation)
    if let subcode { #expect(e?["error_subcode"]?.int == subcode, sourceLocation: sourceLocation) }
}

@Suite(.serialized) struct SendAPITests {
    @Test func missingOrWrongBearerTokenIs401WithGraphError() async throws {
        try await withSim(.whatsapp) { s, _ in
            try await s.client.createUser("16505551234")
            expectGraphError(try await s.client.sendNative(account: "PN", body: waText("16505551234", "x"), accessToken: nil), status: 401, code: 2500)
            expectGraphError(try await s.client.sendNative(account: "PN", body: waText("16505551234", "x"), accessToken: "wrong"), status: 401, code: 190)
        }
    }

    @Test func whatsappSendReturnsNativeIdsAndEmitsSentDeliveredThenRead() async throws {
        try await withSim(.whatsapp) { s, receiver in
            try await s.client.createUser("16505551234", name: "Sheena")
            let r = try await s.client.sendNative(account: "PN9", body: waText("+16505551234", "Hello ☕"), accessToken: accessToken, version: "v21.0")
            #expect(r.status == 200, "\(r.text)")
            let json = try #require(r.json)
            #expect(json["messaging_product"]?.string == "whatsapp")
            #expect(json["contacts"]?.array?.first?["input"]?.string == "+16505551234")
            #expect(json["contacts"]?.array?.first?["wa_id"]?.string == "16505551234")
            let wamid = try #require(json["messages"]?.array?.first?["id"]?.string)
            #expect(wamid.hasPrefix("wamid."))
            let statuses = try await waitFor("sent+delivered") { items(receiver.all, "statuses").count >= 2 ? items(receiver.all, "statuses") : nil }
            #expect(statuses.map { $0["status"]?.string } == ["sent", "delivered"])
            #expect(statuses.allSatisfy { $0["id"]?.string == wamid && $0["recipient_id"]?.string == "16505551234" })
            let inbox = try await s.client.mailbox(of: "16505551234").inbox
            #expect(inbox.map(\.text) == ["Hello ☕"])
            #expect(inbox.first?.nativeId == wamid)
            try await s.client.read(by: "16505551234", from: "PN9")
            let read = try await waitFor("read status") { items(receiver.all, "statuses").first { $0["status"]?.string == "read" } }
            #expect(read["id"]?.string == wamid)
            let hook = try #require(receiver.all.last?.json)
            #expect(try missingShape(fixture: "whatsapp_status_read.json", in: hook, ignoring: ["conversation", "pricing", "contacts"]) == [])
            #expect(try await s.client.mailbox(of: "16505551234").inbox.first?.status == "read")
        }
    }

    @Test func aRepeatedIdempotencyKeyGetsTheFirstAnswerAndNoSecondMessage() async throws {
        try await withSim(.messenger) { s, _ in
            try await s.client.createUser("2400")
            let body = pageText("2400", "only once").serialized()
            let headers = ["Authorization": "Bearer \(accessToken)", "X-Parley-Idempotency-Key": "env-1-0"]
            let first = try await s.client.raw("POST", "/PAGE1/messages", body: body, headers: headers)
            let second = try await s.client.raw("POST", "/PAGE1/messages", body: body, headers: headers)
            #expect(first.status == 200 && second.status == 200)
            #expect(first.json?["message_id"]?.string != nil)
            #expect(second.json?["message_id"]?.string == first.json?["message_id"]?.string)
            var other = headers
            other["X-Parley-Idempotency-Key"] = "env-2-0"
            let third = try await s.client.raw("POST", "/PAGE1/messages", body: body, headers: other)
            #expect(third.json?["message_id"]?.string != first.json?["message_id"]?.string)
            #expect(try await s.client.mailbox(of: "2400").inbox.count == 2)
        }
    }

    @Test func whatsappValidationErrorsUseRealShapes() async throws {
        try await withSim(.whatsapp) { s, _ in
            try await s.client.createUser("1555")
            expectGraphError(try await s.client.sendNative(account: "PN", body: waText("1999", "x"), accessToken: accessToken), status: 400, code: 131026)
            expectGraphError(try await s.client.sendNative(account: "PN", body: waText("1555", String(repeating: "a", count: 4097)), accessToken: accessToken),
                             status: 400, code: 100)
            let ok = try await s.client.sendNative(account: "PN", body: waText("1555", String(repeating: "é", count: 4096)), accessToken: accessToken)
            #expect(ok.status == 200, "4096 characters are allowed: \(ok.text)")
            let badLink: JSONValue = .object([("messaging_product", "whatsapp"), ("to", "1555"), ("type", "image"),
                                              ("image", .object([("link", "ftp://example.com/a.jpg")]))])
            expectGraphError(try await s.client.sendNative(account: "PN", body: badLink, accessToken: accessToken), status: 400, code: 100)
            let noProduct: JSONValue = .object([("to", "1555"), ("type", "text"), ("text", .object([("body", "x")]))])
            expectGraphError(try await s.client.sendNative(account: "PN", body: noProduct, accessToken: accessToken), status: 400, code: 100)
            let noTo: JSONValue = .object([("messaging_product", "whatsapp"), ("type", "text"), ("text", .object([("body", "x")]))])
            expectGraphError(try await s.client.sendNative(account: "PN", body: noTo, accessToken: accessToken), status: 400, code: 100)
            let r = try await s.client.raw("POST", "/PN/messages", body: Array("{not json".utf8), headers: ["Authorization": "Bearer \(accessToken)"])
            expectGraphError(r, status: 400, code: 100)
        }
    }

    @Test func whatsappReplyReactionMediaAndMarkReadAreStored() async throws {
        try await withSim(.whatsapp) { s, receiver in
            try await s.client.createUser("1555", name: "U")
            let mine = try #require(try await s.client.send(from: "1555", to: "PN", text: "question").nativeId)
            let reply: JSONValue = .object([("messaging_product", "whatsapp"), ("to", "1555"), ("context", .object([("message_id", .string(mine))])),
                                            ("type", "text"), ("text", .object([("body", "answer")]))])
            #expect(try await s.client.sendNative(account: "PN", body: reply, accessToken: accessToken).status == 200)
            let react: JSONValue = .object([("messaging_product", "whatsapp"), ("to", "1555"), ("type", "reaction"),
                                            ("reaction", .object([("message_id", .string(mine)), ("emoji", "😀")]))])
            let reactAnswer = try await s.client.sendNative(account: "PN", body: react, accessToken: accessToken)
            #expect(reactAnswer.status == 200)
            let image: JSONValue = .object([("messaging_product", "whatsapp"), ("to", "1555"), ("type", "image"),
                                            ("image", .object([("link", "https://example.com/s.jpg"), ("caption", "succulent")]))])
            #expect(try await s.client.sendNative(account: "PN", body: image, accessToken: accessToken).status == 200)
            let markRead: JSONValue = .object([("messaging_product", "whatsapp"), ("status", "read"), ("message_id", .string(mine))])
            let mr = try await s.client.sendNative(account: "PN", body: markRead, accessToken: accessToken)
            #expect(mr.json?["success"]?.bool == true)
            let box = try await s.client.mailbox(of: "1555")
            #expect(box.inbox.map(\.kind) == ["text", "image"])
            #expect(box.inbox[0].replyTo == mine)
            #expect(box.inbox[1].mediaURL == "https://example.com/s.jpg")
            #expect(box.inbox[1].caption == "succulent")
            #expect(box.sent.first?.reactions == [SimReaction(actor: "business", emoji: "😀")])
            #expect(box.sent.first?.status == "read")
            // The reaction gets only a `sent` status.
            let reactionId = try #require(reactAnswer.json?["messages"]?.array?.first?["id"]?.string)
            _ = try await waitFor("statuses") { items(receiver.all, "statuses").count >= 5 ? true : nil }
            #expect(items(receiver.all, "statuses").filter { $0["id"]?.string == reactionId }.map { $0["status"]?.string } == ["sent"])
        }
    }

    @Test func parleyExtensionRecordsTheFateOfAUsersOwnMessage() async throws {
        try await withSim(.whatsapp) { s, _ in
            try await s.client.createUser("1555")
            let a = try #require(try await s.client.send(from: "1555", to: "PN", text: "a").nativeId)
            let b = try #require(try await s.client.send(from: "1555", to: "PN", text: "b").nativeId)
            let delivered: JSONValue = .object([("messaging_product", "whatsapp"), ("status", "delivered"), ("message_id", .string(a))])
            #expect(try await s.client.sendNative(account: "PN", body: delivered, accessToken: accessToken).status == 200)
            let failed: JSONValue = .object([("messaging_product", "whatsapp"), ("status", "failed"), ("message_id", .string(b)),
                                             ("errors", .array([.object([("code", 470), ("message", "recipient has not consented")])]))])
            #expect(try await s.client.sendNative(account: "PN", body: failed, accessToken: accessToken).status == 200)
            let sent = try await s.client.mailbox(of: "1555").sent
            #expect(sent.map(\.status) == ["delivered", "failed"])
            #expect(sent[1].errorCode == 470)
            #expect(sent[1].errorMessage == "recipient has not consented")
            let unknown: JSONValue = .object([("messaging_product", "whatsapp"), ("status", "read"), ("message_id", "wamid.nope")])
            expectGraphError(try await s.client.sendNative(account: "PN", body: unknown, accessToken: accessToken), status: 400, code: 100)
        }
    }

    @Test func messengerSendEmitsDeliveryThenReadWatermark() async throws {
        try await withSim(.messenger) { s, receiver in
            try await s.client.createUser("PSID1")
            let r = try await s.client.sendNative(account: "PAGE", body: pageText("PSID1", "Hello, world!"), accessToken: accessToken)
            #expect(r.status == 200, "\(r.text)")
            #expect(r.json?["recipient_id"]?.string == "PSID1")
            let mid = try #require(r.json?["message_id"]?.string)
            #expect(mid.hasPrefix("m_"))
            let delivery = try await waitFor("delivery") { items(receiver.all, "messaging").first { $0["delivery"] != nil } }
            #expect(try missingShape(fixture: "messenger_delivery.json", in: delivery) == [])
            #expect(delivery["delivery"]?["mids"]?.array?.first?.string == mid)
            try await s.client.read(by: "PSID1", from: "PAGE")
            let read = try await waitFor("read") { items(receiver.all, "messaging").first { $0["read"] != nil } }
            #expect(try missingShape(fixture: "messenger_read.json", in: read) == [])
            #expect(read["read"]?["watermark"]?.int ?? 0 >= delivery["delivery"]?["watermark"]?.int ?? Int64.max)
        }
    }

    @Test func messengerAndInstagramValidationErrors() async throws {
        for app in [SimulatorApp.messenger, .instagram] {
            try await withSim(app) { s, _ in
                try await s.client.createUser("U1")
                expectGraphError(try await s.client.sendNative(account: "ACC", body: pageText("nobody", "x"), accessToken: accessToken),
                                 status: 400, code: 100, subcode: app == .messenger ? 2018001 : nil)
                let limit = app == .messenger ? 2000 : 1000
                if app == .instagram {
                    // Instagram counts UTF-8 bytes: 500 × "é" is 1000 bytes (fine), 501 is 1002 (too long).
                    #expect(try await s.client.sendNative(account: "ACC", body: pageText("U1", String(repeating: "é", count: 500)), accessToken: accessToken).status == 200)
                    expectGraphError(try await s.client.sendNative(account: "ACC", body: pageText("U1", String(repeating: "é", count: 501)), accessToken: accessToken),
                                     status: 400, code: 100)
                } else {
                    #expect(try await s.client.sendNative(account: "ACC", body: pageText("U1", String(repeating: "a", count: limit)), accessToken: accessToken).status == 200)
                    expectGraphError(try await s.client.sendNative(account: "ACC", body: pageText("U1", String(repeating: "a", count: limit + 1)), accessToken: accessToken),
                                     status: 400, code: 100)
                }
                let badURL: JSONValue = .object([("recipient", .object([("id", "U1")])), ("message", .object([("attachment", .object([
                    ("type", "image"), ("payload", .object([("url", "javascript:alert(1)")]))]))]))])
                expectGraphError(try await s.client.sendNative(account: "ACC", body: badURL, accessToken: accessToken), status: 400, code: 100)
                let noRecipient: JSONValue = .object([("message", .object([("text", "x")]))])
                expectGraphError(try await s.client.sendNative(account: "ACC", body: noRecipient, accessToken: accessToken), status: 400, code: 100)
                let noMessage: JSONValue = .object([("recipient", .object([("id", "U1")]))])
                expectGraphError(try await s.client.sendNative(account: "ACC", body: noMessage, accessToken: accessToken), status: 400, code: 100)
            }
        }
    }

    @Test func instagramSenderActionsAndReadPerMid() async throws {
        try await withSim(.instagram) { s, receiver in
            try await s.client.createUser("IGSID")
            let mine = try #require(try await s.client.send(from: "IGSID", to: "IGACC", text: "hey").nativeId)
            let image: JSONValue = .object([("recipient", .object([("id", "IGSID")])), ("message", .object([("attachment", .object([
                ("type", "image"), ("payload", .object([("url", "https://example.com/i.png")]))]))])), ("reply_to", .object([("mid", .string(mine))]))])
            let r = try await s.client.sendNative(account: "IGACC", body: image, accessToken: accessToken)
            let mid = try #require(r.json?["message_id"]?.string)
            let react: JSONValue = .object([("recipient", .object([("id", "IGSID")])), ("sender_action", "react"),
                                            ("payload", .object([("message_id", .string(mine)), ("reaction", "love")]))])
            #expect(try await s.client.sendNative(account: "IGACC", body: react, accessToken: accessToken).json?["recipient_id"]?.string == "IGSID")
            let seen: JSONValue = .object([("recipient", .object([("id", "IGSID")])), ("sender_action", "mark_seen"),
                                           ("payload", .object([("message_id", .string(mine))]))])
            #expect(try await s.client.sendNative(account: "IGACC", body: seen, accessToken: accessToken).status == 200)
            let typing: JSONValue = .object([("recipient", .object([("id", "IGSID")])), ("sender_action", "typing_on")])
            #expect(try await s.client.sendNative(account: "IGACC", body: typing, accessToken: accessToken).status == 200)
            let box = try await s.client.mailbox(of: "IGSID")
            #expect(box.inbox.first?.replyTo == mine)
            #expect(box.inbox.first?.kind == "image")
            #expect(box.sent.first?.status == "read")
            #expect(box.sent.first?.reactions == [SimReaction(actor: "business", emoji: "❤️")])
            try await s.client.read(by: "IGSID", from: "IGACC")
            let read = try await waitFor("seen") { items(receiver.all, "messaging").first { $0["read"] != nil } }
            #expect(read["read"]?["mid"]?.string == mid)
            let hook = try #require(receiver.all.last?.json)
            #expect(try missingShape(fixture: "instagram_seen.json", in: hook) == [])
        }
    }

    @Test func messengerExtensionMarkFailedCarriesTheError() async throws {
        try await withSim(.messenger) { s, _ in
            try await s.client.createUser("P1")
            let mine = try #require(try await s.client.send(from: "P1", to: "PAGE", text: "x").nativeId)
            let failed: JSONValue = .object([("recipient", .object([("id", "P1")])), ("sender_action", "mark_failed"),
                                             ("payload", .object([("message_id", .string(mine)),
                                                                  ("error", .object([("code", 403), ("message", "blocked by policy")]))]))])
            #expect(try await s.client.sendNative(account: "PAGE", body: failed, accessToken: accessToken).status == 200)
            let sent = try #require(try await s.client.mailbox(of: "P1").sent.first)
            #expect(sent.status == "failed")
            #expect(sent.errorCode == 403)
        }
    }

    @Test func whatsappGroupSendReachesEveryMember() async throws {
        try await withSim(.whatsapp) { s, receiver in
            try await s.client.createUser("1")
            try await s.client.createUser("2")
            try await s.client.createGroup("120363418770915618@g.us", members: ["1", "2"])
            let body: JSONValue = .object([("messaging_product", "whatsapp"), ("recipient_type", "group"), ("to", "120363418770915618@g.us"),
                                           ("type", "text"), ("text", .object([("body", "hi all")]))])
            #expect(try await s.client.sendNative(account: "PN", body: body, accessToken: accessToken).status == 200)
            #expect(try await s.client.mailbox(of: "1").inbox.map(\.text) == ["hi all"])
            #expect(try await s.client.mailbox(of: "2").inbox.map(\.groupId) == ["120363418770915618@g.us"])
            let statuses = try await waitFor("group statuses") { items(receiver.all, "statuses").count >= 4 ? items(receiver.all, "statuses") : nil }
            #expect(Set(statuses.compactMap { $0["recipient_participant_id"]?.string }) == ["1", "2"])
            #expect(statuses.allSatisfy { $0["recipient_type"]?.string == "group" })
        }
    }
}
