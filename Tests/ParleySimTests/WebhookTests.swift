import Foundation
import ParleySim
import Testing

@Suite(.serialized) struct WebhookTests {
    @Test func whatsappTextWebhookIsSignedOverRawBytesAndShapedLikeTheFixture() async throws {
        try await withSim(.whatsapp) { s, receiver in
            try await s.client.createUser("16505551234", name: "Sheena Nelson")
            let sent = try await s.client.send(from: "16505551234", to: "106540352242922", text: "Does it come in another colour? ☕️/")
            let hooks = try await waitFor("webhook") { receiver.all.isEmpty ? nil : receiver.all }
            let hook = hooks[0]
            #expect(hook.signature == SimSHA256.hubSignature(secret: appSecret, body: hook.body))
            #expect(hook.signature != SimSHA256.hubSignature(secret: "other", body: hook.body))
            // Meta-style escaping on the wire: non-ASCII as \u escapes, slashes as \/.
            let raw = String(decoding: hook.body, as: UTF8.self)
            #expect(raw.contains(#"\u2615\ufe0f\/"#))
            let body = try #require(hook.json)
            #expect(try missingShape(fixture: "whatsapp_text.json", in: body) == [])
            let value = body["entry"]?.array?.first?["changes"]?.array?.first?["value"]
            #expect(value?["metadata"]?["phone_number_id"]?.string == "106540352242922")
            #expect(value?["contacts"]?.array?.first?["profile"]?["name"]?.string == "Sheena Nelson")
            let message = value?["messages"]?.array?.first
            #expect(message?["id"]?.string == sent.nativeId)
            #expect(message?["text"]?["body"]?.string == "Does it come in another colour? ☕️/")
            #expect(message?["timestamp"]?.string.flatMap { Int($0) } != nil)
        }
    }

    @Test func whatsappReplyReactionImageEditAndDeleteHaveNativeShapes() async throws {
        try await withSim(.whatsapp) { s, receiver in
            try await s.client.createUser("972987654321", name: "Test Name")
            let first = try await s.client.send(from: "972987654321", to: "1122334455667", text: "hi")
            let firstId = try #require(first.nativeId)
            try await s.client.send(from: "972987654321", to: "1122334455667", text: "replied text", replyTo: firstId)
            try await s.client.react(from: "972987654321", to: "1122334455667", messageId: firstId, emoji: "👍")
            try await s.client.unreact(from: "972987654321", to: "1122334455667", messageId: firstId)
            try await s.client.sendMedia(from: "972987654321", to: "1122334455667", url: "https://example.com/taj.jpg", caption: "Taj Mahal")
            try await s.client.edit(by: "972987654321", messageId: firstId, text: "hello")
            try await s.client.delete(by: "972987654321", messageId: firstId)
            let messages = try await waitFor("7 messages") { items(receiver.all, "messages").count >= 7 ? items(receiver.all, "messages") : nil }
            let envelope: JSONValue = .object([("object", "whatsapp_business_account"), ("entry", .array([.object([("id", "1"), ("changes", .array([.object([
                ("value", .object([("messaging_product", "whatsapp"), ("metadata", .object([("display_phone_number", "1"), ("phone_number_id", "1")])),
                                   ("contacts", .array([.object([("profile", .object([("name", "x")])), ("wa_id", "1")])])),
                                   ("messages", .array([messages[1]]))])), ("field", "messages")])]))])]))])
            #expect(try missingShape(fixture: "whatsapp_reply_context.json", in: envelope, ignoring: ["user_id"]) == [])
            #expect(messages[1]["context"]?["id"]?.string == firstId)
            #expect(messages[1]["context"]?["from"]?.string == "1122334455667")
            func waEnvelope(_ message: JSONValue) -> JSONValue {
                .object([("object", "whatsapp_business_account"), ("entry", .array([.object([("id", "1"), ("changes", .array([.object([
                    ("value", .object([("messaging_product", "whatsapp"), ("metadata", .object([("display_phone_number", "1"), ("phone_number_id", "1")])),
                                       ("contacts", .array([.object([("profile", .object([("name", "x")])), ("wa_id", "1")])])),
                                       ("messages", .array([message]))])), ("field", "messages")])]))])]))])
            }
            #expect(try missingShape(fixture: "whatsapp_reaction.json", in: waEnvelope(messages[2])) == [])
            #expect(try missingShape(fixture: "whatsapp_image.json", in: waEnvelope(messages[4])) == [])
            #expect(messages[2]["type"]?.string == "reaction")
            #expect(messages[2]["reaction"]?["message_id"]?.string == firstId)
            #expect(messages[2]["reaction"]?["emoji"]?.string == "👍")
            #expect(messages[3]["reaction"]?["emoji"] == nil, "removal omits emoji")
            #expect(messages[4]["type"]?.string == "image")
            for key in ["caption", "mime_type", "sha256", "id", "url"] { #expect(messages[4]["image"]?[key]?.string != nil, "image.\(key)") }
            #expect(messages[5]["type"]?.string == "unsupported")
            #expect(messages[5]["unsupported"]?["type"]?.string == "edit")
            #expect(messages[5]["errors"]?.array?.first?["code"]?.int == 131051)
            #expect(messages[6]["type"]?.string == "revoke")
            #expect(messages[6]["revoke"]?["original_message_id"]?.string == firstId)
        }
    }

    @Test func messengerWebhooksMatchFixtureShapes() async throws {
        try await withSim(.messenger) { s, receiver in
            try await s.client.createUser("2401", name: "Ana")
            let first = try #require(try await s.client.send(from: "2401", to: "PAGE1", text: "hello, world!").nativeId)
            try await s.client.send(from: "2401", to: "PAGE1", text: "a reply", replyTo: first)
            try await s.client.react(from: "2401", to: "PAGE1", messageId: first, emoji: "😢")
            try await s.client.sendMedia(from: "2401", to: "PAGE1", url: "https://example.com/a.png")
            try await s.client.edit(by: "2401", messageId: first, text: "hello again")
            try await s.client.delete(by: "2401", messageId: first)
            let all = try await waitFor("6 items") { items(receiver.all, "messaging").count >= 6 ? items(receiver.all, "messaging") : nil }
            let hook = try #require(receiver.all.first?.json)
            #expect(hook["object"]?.string == "page")
            #expect(hook["entry"]?.array?.first?["id"]?.string == "PAGE1")
            #expect(try missingShape(fixture: "messenger_text_full_envelope.json", in: hook, ignoring: ["commands"]) == [])
            #expect(try missingShape(fixture: "messenger_text.json", in: all[0]) == [])
            #expect(try missingShape(fixture: "messenger_reply_to.json", in: all[1]) == [])
            #expect(all[1]["message"]?["reply_to"]?["mid"]?.string == first)
            #expect(all[1]["message"]?["reply_to"]?["is_self_reply"]?.bool == true)
            #expect(try missingShape(fixture: "messenger_reaction.json", in: .object([("object", "page"), ("entry", .array([.object([
                ("id", "1"), ("time", 1), ("messaging", .array([all[2]]))])]))])) == [])
            #expect(all[2]["reaction"]?["reaction"]?.string == "sad")
            #expect(all[2]["timestamp"]?.int ?? 0 > 1_000_000_000_000, "milliseconds")
            #expect(try missingShape(fixture: "messenger_attachment_image.json", in: all[3]) == [])
            #expect(all[4]["message_edit"]?["text"]?.string == "hello again")
            #expect(all[4]["message_edit"]?["num_edit"]?.int == 1)
            #expect(all[5]["message"]?["is_deleted"]?.bool == true)
        }
    }

    @Test func instagramWebhooksMatchFixtureShapes() async throws {
        try await withSim(.instagram) { s, receiver in
            try await s.client.createUser("6234380736598057", name: "Ivy")
            let first = try #require(try await s.client.send(from: "6234380736598057", to: "17841404645593433", text: "Hello World").nativeId)
            #expect(first.count > 150)
            try await s.client.sendMedia(from: "6234380736598057", to: "17841404645593433", url: "https://image-url/foo.png")
            try await s.client.react(from: "6234380736598057", to: "17841404645593433", messageId: first, emoji: "👍")
            let edit = try await s.client.edit(by: "6234380736598057", messageId: first, text: "nope")
            #expect(edit.queuedUpdates == 0, "Instagram has no edit webhook")
            try await s.client.delete(by: "6234380736598057", messageId: first)
            let all = try await waitFor("4 items") { items(receiver.all, "messaging").count >= 4 ? items(receiver.all, "messaging") : nil }
            let hook = try #require(receiver.all.first?.json)
            #expect(hook["object"]?.string == "instagram")
            #expect(try missingShape(fixture: "instagram_text.json", in: hook) == [])
            #expect(try missingShape(fixture: "instagram_image.json", in: .object([("object", "instagram"), ("entry", .array([.object([
                ("id", "1"), ("messaging", .array([all[1]])), ("time", 1)])]))])) == [])
            #expect(try missingShape(fixture: "instagram_reaction.json", in: .object([("object", "instagram"), ("entry", .array([.object([
                ("time", 1), ("id", "1"), ("messaging", .array([all[2]]))])]))])) == [])
            #expect(all[2]["reaction"]?["reaction"]?.string == "like")
            #expect(all[3]["message"]?["is_deleted"]?.bool == true)
        }
    }

    @Test func whatsappBatchesSeveralMessagesIntoOnePost() async throws {
        try await withSim(.whatsapp, maxBatch: 3, window: .seconds(3600)) { s, receiver in
            try await s.client.createUser("111", name: "A")
            for i in 1...3 { try await s.client.send(from: "111", to: "PN1", text: "m\(i)") }
            let hooks = try await waitFor("one batch") { receiver.all.isEmpty ? nil : receiver.all }
            #expect(hooks.count == 1)
            let texts = items(hooks, "messages").compactMap { $0["text"]?["body"]?.string }
            #expect(texts == ["m1", "m2", "m3"])
            // Below the batch size, nothing goes out until the window ends or a flush.
            try await s.client.send(from: "111", to: "PN1", text: "m4")
            try await s.client.flush()
            let later = try await waitFor("flushed batch") { receiver.all.count == 2 ? receiver.all : nil }
            #expect(items([later[1]], "messages").count == 1)
            let deliveries = try await s.client.deliveries()
            #expect(deliveries.map(\.itemCount) == [3, 1])
        }
    }

    @Test func messengerBatchesSeveralMessagingItemsIntoOnePost() async throws {
        try await withSim(.messenger, maxBatch: 2, window: .seconds(3600)) { s, receiver in
            try await s.client.createUser("u1", name: "U")
            try await s.client.send(from: "u1", to: "PAGE", text: "one")
            try await s.client.send(from: "u1", to: "PAGE", text: "two")
            let hooks = try await waitFor("batch") { receiver.all.isEmpty ? nil : receiver.all }
            #expect(hooks.count == 1)
            #expect(items(hooks, "messaging").compactMap { $0["message"]?["text"]?.string } == ["one", "two"])
        }
    }

    @Test func deliveryIsRetriedUntilAcknowledged() async throws {
        try await withSim(.messenger) { s, receiver in
            receiver.answer([500, 503])
            try await s.client.createUser("u1", name: "U")
            try await s.client.send(from: "u1", to: "PAGE", text: "persistent")
            let delivered = try await waitFor("delivered") { try await s.client.deliveries().first { $0.state == "delivered" } }
            #expect(delivered.attempts == 3)
            #expect(delivered.lastStatus == 200)
            let hooks = receiver.all
            #expect(hooks.count == 3)
            #expect(Set(hooks.map(\.body)).count == 1, "every retry carries the same bytes")
            #expect(hooks.allSatisfy { $0.signature == SimSHA256.hubSignature(secret: appSecret, body: $0.body) })
        }
    }

    @Test func deliveryQueueSurvivesARestart() async throws {
        let receiver = WebhookReceiver()
        let url = try await receiver.start()
        receiver.failAll(true)
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try await RunningSim.start(makeConfig(.whatsapp, webhook: url, dir: dir))
        try await first.client.createUser("222", name: "B")
        let sent = try await first.client.send(from: "222", to: "PN", text: "survive")
        _ = try await waitFor("a failed attempt") { try await first.client.deliveries().first { $0.attempts >= 1 } }
        try await first.stop()
        receiver.failAll(false)
        let second = try await RunningSim.start(makeConfig(.whatsapp, webhook: url, dir: dir))
        let delivered = try await waitFor("delivered after restart") { try await second.client.deliveries().first { $0.state == "delivered" } }
        #expect(delivered.attempts >= 2)
        #expect(items(receiver.all, "messages").last?["id"]?.string == sent.nativeId)
        #expect(try await second.client.users().map(\.id) == ["222"])
        try await second.stop()
        await receiver.stop()
    }

    @Test func verificationHandshakeEchoesTheChallenge() async throws {
        try await withSim(.instagram) { s, _ in
            let ok = try await s.client.verifyWebhook()
            #expect(ok)
        }
    }
}
