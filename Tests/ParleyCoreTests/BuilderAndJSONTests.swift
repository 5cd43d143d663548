import Foundation
import Testing
@testable import ParleyCore

private let alice = "mimi://example.com/u/alice-smith"
private let bob = "mimi://example.com/u/bob-jones"
private let cathy = "mimi://example.com/u/cathy-washington"
private let room = "mimi://example.com/r/engineering_team"

private func salt(of name: String) throws -> [UInt8] {
    try MIMIContent(decoding: Vectors.bytes(name)).salt
}

private func id(_ name: String) throws -> MessageId {
    try MIMIContent.messageId(of: Vectors.bytes(name)).id
}

@Suite("Builders")
struct BuilderTests {
    @Test("the builders reproduce the draft's examples byte for byte")
    func reproduceDraftExamples() throws {
        let original = MIMIContent.text(
            "Hi everyone, we just shipped release 2.0. __Good  work__!", sender: alice, room: room,
            contentType: MIMIContent.markdown, salt: try salt(of: "original"))
        #expect(original.encoded() == (try Vectors.bytes("original")))

        let reply = MIMIContent.reply(
            to: try id("original"), text: "Right on! _Congratulations_ 'all!", sender: bob, room: room,
            contentType: MIMIContent.markdown, salt: try salt(of: "reply"))
        #expect(reply.encoded() == (try Vectors.bytes("reply")))

        let reaction = MIMIContent.reaction("❤", to: try id("original"), sender: cathy, room: room,
                                            salt: try salt(of: "reaction"))
        #expect(reaction.encoded() == (try Vectors.bytes("reaction")))

        let edit = MIMIContent.edit(
            replacing: try id("reply"), text: "Right on! _Congratulations_ y'all!", inReplyTo: try id("original"),
            sender: bob, room: room, contentType: MIMIContent.markdown, salt: try salt(of: "edit"))
        #expect(edit.encoded() == (try Vectors.bytes("edit")))

        let delete = MIMIContent.delete(replacing: try id("reply"), inReplyTo: try id("original"), sender: bob,
                                        room: room, salt: try salt(of: "delete"))
        #expect(delete.encoded() == (try Vectors.bytes("delete")))

        let file = ExternalPart(
            contentType: "video/mp4", url: "https://example.com/storage/8ksB4bSrrRE.mp4", size: 708_234_961,
            encAlg: ExternalPart.aes128GCM, key: Vectors.hex("21399320958a6f4c745dde670d95e0d8"),
            nonce: Vectors.hex("c86cf2c33f21527d1dd76f5b"), hashAlg: ExternalPart.sha256,
            contentHash: Vectors.hex("9ab17a8cf0890baaae7ee016c7312fcc080ba46498389458ee44f0276e783163"),
            description: "2 hours of key signing video", filename: "bigfile.mp4")
        let attachment = MIMIContent.attachment(file, sender: bob, room: room, language: "en",
                                                salt: try salt(of: "attachment"))
        #expect(attachment.encoded() == (try Vectors.bytes("attachment")))
        #expect(try attachment.messageId() == (try id("attachment")))
    }

    @Test("unlike replaces the reaction with a null reaction part and maps to a reaction removal")
    func unlike() throws {
        let reactionId = try id("reaction")
        let unlike = MIMIContent.unlike(reaction: reactionId, on: try id("original"), sender: cathy, room: room)
        try unlike.validate()
        #expect(unlike.kind == .unlike)
        #expect(unlike.kind.bridgeKind == .reaction)
        #expect(unlike.replaces == reactionId)
        #expect(unlike.inReplyTo == (try id("original")))
        #expect(unlike.text == nil)
        #expect(try MIMIContent(decoding: unlike.encoded()) == unlike)
    }

    @Test("an attachment with a caption is a processAll multipart of text and the file")
    func captionedAttachment() throws {
        let file = ExternalPart(contentType: "image/png", url: "https://a.example/b", size: 10)
        let message = MIMIContent.attachment(file, caption: "look", sender: bob, room: room)
        try message.validate()
        #expect(message.kind == .attachment)
        #expect(message.text == "look")
        #expect(message.externalParts == [file])
        guard case .multi(let m) = message.body.content else {
            Issue.record("expected a multipart")
            return
        }
        #expect(m.semantics == .processAll)
        #expect(m.parts.count == 2)
    }

    @Test("each builder yields its kind and the bridge kind the node maps it to")
    func kinds() throws {
        let target = try id("original")
        let cases: [(MIMIContent, MIMIContentKind, BridgeEvent.Kind)] = [
            (.text("hi", sender: bob, room: room), .text, .message),
            (.reply(to: target, text: "yes", sender: bob, room: room), .reply, .message),
            (.reaction("👍", to: target, sender: bob, room: room), .reaction, .reaction),
            (.edit(replacing: target, text: "fixed", sender: bob, room: room), .edit, .edit),
            (.delete(replacing: target, sender: bob, room: room), .delete, .delete),
            (.unlike(reaction: target, on: nil, sender: bob, room: room), .unlike, .reaction),
            (.attachment(ExternalPart(contentType: "image/png", url: "u"), sender: bob, room: room), .attachment, .message),
        ]
        for (message, kind, bridge) in cases {
            try message.validate()
            #expect(message.kind == kind)
            #expect(message.kind.bridgeKind == bridge)
            #expect(try MIMIContent(decoding: message.encoded()) == message)
        }
        let lonelyNull = MIMIContent(salt: MIMIContent.randomSalt(), body: NestedPart(content: .null))
        #expect(lonelyNull.kind == .other)
        #expect(lonelyNull.kind.bridgeKind == .unsupported)
    }

    @Test("fresh salts are 16 random bytes, so equal texts get different ids")
    func salts() throws {
        let a = MIMIContent.text("same", sender: bob, room: room)
        let b = MIMIContent.text("same", sender: bob, room: room)
        #expect(a.salt.count == 16)
        #expect(a.salt != b.salt)
        #expect(try a.messageId() != b.messageId())
    }

    @Test("validate refuses content a receiver would refuse")
    func validate() {
        let badSalt = MIMIContent(salt: [1, 2, 3], body: NestedPart(content: .null))
        #expect(throws: MIMIError.invalidSaltLength(3)) { try badSalt.validate() }
        let onePart = MIMIContent(salt: MIMIContent.randomSalt(), body: NestedPart(content: .multi(
            MultiPart(semantics: .chooseOne, parts: [NestedPart(content: .null)]))))
        #expect(throws: MIMIError.tooFewParts(1)) { try onePart.validate() }
        var dup = MIMIContent.text("x", sender: bob, room: room)
        dup.extensions.other = [CBOR.MapEntry(key: .unsigned(1), value: .text("again"))]
        do {
            try dup.validate()
            Issue.record("a second key 1 was accepted")
        } catch {
            #expect(error.code == "cbor.duplicate_key")
        }
    }
}

@Suite("JSON form")
struct JSONTests {
    private func object(_ json: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    @Test("each vector prints its message id and every field, and reads back to identical bytes",
          arguments: Vectors.names)
    func vectorRoundTrip(name: String) throws {
        let bytes = try Vectors.bytes(name)
        let json = try MIMIContent.json(fromCBOR: bytes)
        let o = try object(json)
        let expected = try #require(try Vectors.expected()[name])
        #expect(o["messageId"] as? String == expected.message_id)
        #expect(Set(o.keys) == ["messageId", "salt", "replaces", "topicId", "expires", "inReplyTo", "extensions", "body"])
        let ext = try #require(o["extensions"] as? [String: Any])
        #expect(ext["senderUri"] as? String == expected.sender)
        let back = try MIMIContent(json: Array(json.utf8))
        #expect(back.encoded() == bytes)
    }

    @Test("output is pretty-printed with sorted keys and unescaped slashes")
    func formatting() throws {
        let json = try MIMIContent.json(fromCBOR: Vectors.bytes("original"))
        #expect(json.contains("\n  \"body\""))
        #expect(json.contains("mimi://example.com/u/alice-smith"))
        let keys = ["\"body\"", "\"expires\"", "\"extensions\"", "\"inReplyTo\"", "\"messageId\"", "\"replaces\"", "\"salt\"", "\"topicId\""]
        let positions = keys.compactMap { json.range(of: "\n  " + $0)?.lowerBound }
        #expect(positions.count == keys.count)
        #expect(positions == positions.sorted())
    }

    @Test("the attachment's external fields appear as hex and numbers")
    func attachmentJSON() throws {
        let o = try object(try MIMIContent.json(fromCBOR: Vectors.bytes("attachment")))
        let body = try #require(o["body"] as? [String: Any])
        #expect(body["cardinality"] as? String == "external")
        #expect(body["disposition"] as? String == "attachment")
        #expect(body["key"] as? String == "21399320958a6f4c745dde670d95e0d8")
        #expect((body["size"] as? NSNumber)?.int64Value == 708_234_961)
        #expect(body["filename"] as? String == "bigfile.mp4")
    }

    @Test("without URIs the message id is null unless given")
    func idWithoutURIs() throws {
        let bytes = MIMIContent(salt: Array(repeating: 0, count: 16), body: NestedPart(content: .null)).encoded()
        #expect(try object(try MIMIContent.json(fromCBOR: bytes))["messageId"] is NSNull)
        let given = try object(try MIMIContent.json(fromCBOR: bytes, senderUri: "s", roomUri: "r"))
        let expected = try MessageId.derive(content: bytes, senderUri: "s", roomUri: "r", salt: Array(repeating: 0, count: 16))
        #expect(given["messageId"] as? String == expected.hex)
    }

    @Test("a single part may be given as text instead of hex")
    func textShorthand() throws {
        let json = """
        {"salt": "000102030405060708090a0b0c0d0e0f", "replaces": null, "topicId": "", "expires": null,
         "inReplyTo": null, "extensions": {"senderUri": "mimi://a/u/b", "roomUri": "mimi://a/r/c"},
         "body": {"disposition": "render", "language": "", "cardinality": "single",
                  "contentType": "text/plain;charset=utf-8", "text": "héllo"}}
        """
        let content = try MIMIContent(json: Array(json.utf8))
        #expect(content.text == "héllo")
        #expect(content.kind == .text)
    }

    @Test("bad JSON is refused with a clear error", arguments: [
        ("not json", "mimi.json"),
        ("", "mimi.json"),
        (" \n", "mimi.json"),
        ("[]", "mimi.json"),
        ("{\"salt\": \"00\"}", "mimi.salt_length"),
        ("{\"salt\": \"zz\"}", "mimi.json"),
        ("{\"salt\": \"000102030405060708090a0b0c0d0e0f\"}", "mimi.json"),
        ("{\"salt\": \"000102030405060708090a0b0c0d0e0f\", \"body\": {\"disposition\": 1, \"language\": \"\", \"cardinality\": \"null\"}, \"bogus\": 1}", "mimi.json"),
        ("{\"salt\": \"000102030405060708090a0b0c0d0e0f\", \"body\": {\"disposition\": 1, \"language\": \"\", \"cardinality\": \"many\"}}", "mimi.json"),
        ("{\"salt\": \"000102030405060708090a0b0c0d0e0f\", \"body\": {\"disposition\": 999, \"language\": \"\", \"cardinality\": \"null\"}}", "mimi.json"),
        ("{\"salt\": \"000102030405060708090a0b0c0d0e0f\", \"replaces\": \"0011\", \"body\": {\"disposition\": 1, \"language\": \"\", \"cardinality\": \"null\"}}", "mimi.message_id_length"),
        ("{\"salt\": \"000102030405060708090a0b0c0d0e0f\", \"body\": {\"disposition\": 1, \"language\": \"\", \"cardinality\": \"single\", \"contentType\": \"t\", \"content\": \"41\", \"text\": \"B\"}}", "mimi.json"),
        ("{\"salt\": \"000102030405060708090a0b0c0d0e0f\", \"body\": {\"disposition\": 1, \"language\": \"\", \"cardinality\": \"multi\", \"partSemantics\": \"processAll\", \"parts\": []}}", "mimi.too_few_parts"),
        ("{\"salt\": \"000102030405060708090a0b0c0d0e0f\", \"extensions\": {\"other\": [[1.5, 1]]}, \"body\": {\"disposition\": 1, \"language\": \"\", \"cardinality\": \"null\"}}", "mimi.json"),
        ("{\"salt\": \"000102030405060708090a0b0c0d0e0f\", \"extensions\": {\"other\": [[{\"bytes\": \"01\"}, 1]]}, \"body\": {\"disposition\": 1, \"language\": \"\", \"cardinality\": \"null\"}}", "mimi.extension_key"),
    ])
    func badJSON(json: String, code: String) {
        do {
            _ = try MIMIContent(json: Array(json.utf8))
            Issue.record("accepted \(json)")
        } catch {
            #expect(error.code == code, "\(error)")
        }
    }

    @Test("every kind of CBOR extension value survives the JSON form")
    func extensionValues() throws {
        let values: [CBOR] = [
            .unsigned(.max), .negative(.max), .int(-3), .bytes([0xAB]), .text("t"), .array([.null, .bool(true)]),
            .map([.init(key: .bytes([1]), value: .undefined)]), .tagged(1, .unsigned(5)), .simple(99),
            .float(1.5), .float(-0.0), .float(.infinity), .float(-.infinity), .float(.nan), .float(1e300),
            .float(0.1), .float(3.4028234663852886e+38),
        ]
        var message = MIMIContent.text("x", sender: bob, room: room)
        message.extensions.other = values.enumerated().map { CBOR.MapEntry(key: .unsigned(UInt64(10 + $0.offset)), value: $0.element) }
        let bytes = message.encoded()
        let back = try MIMIContent(json: Array(try MIMIContent.json(fromCBOR: bytes).utf8))
        #expect(back.encoded() == bytes)
    }
}
