import CParleySHA256
import Foundation
import Testing
@testable import ParleyCore

@Suite("MIMI draft vectors")
struct VectorTests {
    @Test("every vector decodes and re-encodes to identical bytes", arguments: Vectors.names)
    func reencodesIdentically(name: String) throws {
        let bytes = try Vectors.bytes(name)
        let content = try MIMIContent(decoding: bytes)
        #expect(content.encoded() == bytes)
        // The generic CBOR codec agrees byte for byte too.
        #expect(try CBOR.decode(bytes).encode() == bytes)
    }

    @Test("every vector yields the message id, sender, room, replaces and inReplyTo of expected.json",
          arguments: Vectors.names)
    func matchesExpected(name: String) throws {
        let expected = try #require(try Vectors.expected()[name])
        let bytes = try Vectors.bytes(name)
        let (content, id) = try MIMIContent.messageId(of: bytes)
        #expect(id.hex == expected.message_id)
        #expect(id.hashAlgorithm == MessageId.sha256Algorithm)
        #expect(content.extensions.senderUri == expected.sender)
        #expect(content.extensions.roomUri == expected.room)
        #expect(content.replaces?.hex == expected.replaces)
        #expect(content.inReplyTo?.hex == expected.inReplyTo)
        #expect(expected.canonical_reencode_equal == (content.encoded() == bytes))
        // Deriving from the model gives the same id because the encoding is deterministic.
        #expect(try content.messageId() == id)
    }

    @Test("the vectors are classified as the kinds they illustrate")
    func kinds() throws {
        let kinds: [String: MIMIContentKind] = [
            "original": .text, "reply": .reply, "reaction": .reaction, "edit": .edit, "delete": .delete,
            "attachment": .attachment,
        ]
        for (name, kind) in kinds {
            #expect(try MIMIContent(decoding: Vectors.bytes(name)).kind == kind, "\(name)")
        }
    }

    @Test("reply and reaction point at the original; edit and delete replace the reply")
    func semanticLinks() throws {
        var ids: [String: MessageId] = [:]
        var contents: [String: MIMIContent] = [:]
        for name in Vectors.names {
            let (content, id) = try MIMIContent.messageId(of: Vectors.bytes(name))
            ids[name] = id
            contents[name] = content
        }
        let original = try #require(ids["original"])
        let reply = try #require(ids["reply"])
        #expect(contents["reply"]?.inReplyTo == original)
        #expect(contents["reaction"]?.inReplyTo == original)
        #expect(contents["reaction"]?.body.disposition == .reaction)
        #expect(contents["reaction"]?.text == "❤")
        #expect(contents["edit"]?.replaces == reply)
        #expect(contents["delete"]?.replaces == reply)
        #expect(contents["delete"]?.body.content == .null)
        #expect(contents["edit"]?.text == "Right on! _Congratulations_ y'all!")
        #expect(contents["original"]?.replaces == nil && contents["original"]?.inReplyTo == nil)
    }

    @Test("the attachment vector's external part has every field of the draft example")
    func attachmentFields() throws {
        let content = try MIMIContent(decoding: Vectors.bytes("attachment"))
        #expect(content.body.disposition == .attachment)
        #expect(content.body.language == "en")
        guard case .external(let e) = content.body.content else {
            Issue.record("expected an external part")
            return
        }
        #expect(e.contentType == "video/mp4")
        #expect(e.url == "https://example.com/storage/8ksB4bSrrRE.mp4")
        #expect(e.expires == 0)
        #expect(e.size == 708_234_961)
        #expect(e.encAlg == ExternalPart.aes128GCM)
        #expect(e.key == Vectors.hex("21399320958a6f4c745dde670d95e0d8"))
        #expect(e.nonce == Vectors.hex("c86cf2c33f21527d1dd76f5b"))
        #expect(e.aad.isEmpty)
        #expect(e.hashAlg == ExternalPart.sha256)
        #expect(e.contentHash == Vectors.hex("9ab17a8cf0890baaae7ee016c7312fcc080ba46498389458ee44f0276e783163"))
        #expect(e.description == "2 hours of key signing video")
        #expect(e.filename == "bigfile.mp4")
        #expect(content.externalParts == [e])
    }

    @Test("the message id hashes the received bytes: a different sender or room gives a different id")
    func idDependsOnURIs() throws {
        let bytes = try Vectors.bytes("original")
        let (_, id) = try MIMIContent.messageId(of: bytes)
        let (_, otherSender) = try MIMIContent.messageId(of: bytes, senderUri: "mimi://example.com/u/mallory")
        let (_, otherRoom) = try MIMIContent.messageId(of: bytes, roomUri: "mimi://example.com/r/elsewhere")
        #expect(id != otherSender)
        #expect(id != otherRoom)
        #expect(otherSender != otherRoom)
    }
}

@Suite("Message ids")
struct MessageIdTests {
    @Test("ids are exactly 32 bytes, parse from hex and encode as hex in JSON")
    func hexAndCodable() throws {
        let hex = "017ce54837404c3696e0c747b985cb172716d0ed0a3d249ca63ace7d82a096f4"
        let id = try #require(MessageId(hex: hex))
        #expect(id.hex == hex)
        #expect(MessageId(hex: String(hex.dropLast(2))) == nil)
        #expect(MessageId(hex: "zz" + hex.dropFirst(2)) == nil)
        #expect(MessageId(bytes: Array(repeating: 0, count: 33)) == nil)
        #expect(MessageId(hex: hex.uppercased()) == id)
        let json = try JSONEncoder().encode([id])
        #expect(String(decoding: json, as: UTF8.self) == "[\"\(hex)\"]")
        #expect(try JSONDecoder().decode([MessageId].self, from: json) == [id])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([MessageId].self, from: Data("[\"01\"]".utf8)) }
    }
}

@Suite("SHA-256")
struct SHA256Tests {
    @Test("matches FIPS 180-4 test vectors, including multi-block and split updates")
    func knownAnswers() {
        #expect(Hex.encode(SHA256.hash([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Hex.encode(SHA256.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let two = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(Hex.encode(SHA256.hash(two)) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(Hex.encode(SHA256.hash(million)) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        // Odd-sized pieces exercise the partial-block buffer.
        var h = SHA256()
        var i = 0
        var size = 1
        while i < million.count {
            let end = min(million.count, i + size)
            h.update(Array(million[i..<end]))
            i = end
            size = size * 3 % 257 + 1
        }
        #expect(Hex.encode(h.finalize()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("the SHA-extension and portable compressions agree, and streaming agrees with one call")
    func bothCompressionsAgree() {
        var generator = SystemRandomNumberGenerator()
        for blocks in [1, 2, 3, 17] {
            let data = (0..<(blocks * 64)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var fast: [UInt32] = [0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19]
            var portable = fast
            parley_sha256_blocks(&fast, data, blocks)
            parley_sha256_blocks_portable(&portable, data, blocks)
            #expect(fast == portable)
        }
        for length in [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 1000, 4097] {
            let data = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var h = SHA256()
            h.update(Array(data.prefix(length / 3)))
            h.update(Array(data.dropFirst(length / 3)))
            #expect(h.finalize() == SHA256.hash(data), "length \(length)")
        }
        // Where the kernel reports the SHA extensions, they are what the comparisons above exercised.
        if let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8), cpuinfo.contains(" sha_ni") {
            #expect(parley_sha256_accelerated() == 1)
        }
    }
}
