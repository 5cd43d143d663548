import Foundation
import Testing
@testable import ParleyCore

/// Hand-built MIMI content as generic CBOR, so each test can break exactly one thing.
private func content(
    salt: CBOR = .bytes(Array(repeating: 7, count: 16)), replaces: CBOR = .null, topicId: CBOR = .bytes([]),
    expires: CBOR = .null, inReplyTo: CBOR = .null, extensions: CBOR = .map([]),
    body: CBOR = .array([.unsigned(1), .text(""), .unsigned(0)])
) -> [UInt8] {
    CBOR.array([salt, replaces, topicId, expires, inReplyTo, extensions, body]).encode()
}

private func single(_ disposition: UInt64 = 1, _ text: String = "hi") -> CBOR {
    .array([.unsigned(disposition), .text(""), .unsigned(1), .text("text/plain;charset=utf-8"), .bytes(Array(text.utf8))])
}

private func multi(_ parts: [CBOR], semantics: UInt64 = 2) -> CBOR {
    .array([.unsigned(1), .text(""), .unsigned(3), .unsigned(semantics), .array(parts)])
}

/// A body whose parts nest `levels` deep.
private func nested(levels: Int) -> CBOR {
    levels == 1 ? single() : multi([nested(levels: levels - 1), single()])
}

private func mimiError(_ bytes: [UInt8]) -> MIMIError? {
    do {
        _ = try MIMIContent(decoding: bytes)
        return nil
    } catch {
        return error
    }
}

private func ext(_ entries: [(CBOR, CBOR)]) -> CBOR {
    .map(entries.map { CBOR.MapEntry(key: $0.0, value: $0.1) })
}

@Suite("MIMI content decoding")
struct MIMIDecodingTests {
    @Test("a minimal message with a null part decodes and re-encodes identically")
    func minimal() throws {
        let bytes = content()
        let decoded = try MIMIContent(decoding: bytes)
        #expect(decoded.body.content == .null)
        #expect(decoded.encoded() == bytes)
    }

    @Test("the salt must be 16 bytes")
    func salt() {
        #expect(mimiError(content(salt: .bytes(Array(repeating: 1, count: 15)))) == .invalidSaltLength(15))
        #expect(mimiError(content(salt: .text("x")))?.code == "mimi.structure")
    }

    @Test("replaces and inReplyTo must be 32-byte ids or null")
    func messageIds() {
        #expect(mimiError(content(replaces: .bytes(Array(repeating: 1, count: 31))))
                == .invalidMessageIdLength(field: "replaces", length: 31))
        #expect(mimiError(content(inReplyTo: .bytes([])))?.code == "mimi.message_id_length")
        #expect(mimiError(content(inReplyTo: .unsigned(0)))?.code == "mimi.structure")
    }

    @Test("the top level must be a 7-element array")
    func shape() {
        #expect(mimiError(CBOR.map([]).encode())?.code == "mimi.structure")
        #expect(mimiError(CBOR.array([.null]).encode())?.code == "mimi.structure")
        #expect(mimiError(content() + [0x00]) == .cbor(.trailingBytes(offset: content().count)))
        #expect(mimiError(Array(content().dropLast()))?.code == "cbor.truncated")
    }

    @Test("expires is null or [bool, uint32]")
    func expires() throws {
        let ok = content(expires: .array([.bool(true), .unsigned(3600)]))
        #expect(try MIMIContent(decoding: ok).expires == Expiration(relative: true, time: 3600))
        #expect(mimiError(content(expires: .array([.bool(false), .unsigned(1 << 32)])))
                == .valueOutOfRange(field: "expires.time", value: 1 << 32))
        #expect(mimiError(content(expires: .array([.unsigned(0), .unsigned(1)])))?.code == "mimi.structure")
    }

    @Test("unknown dispositions are preserved; values above 255 are refused")
    func dispositions() throws {
        let bytes = content(body: single(200))
        let decoded = try MIMIContent(decoding: bytes)
        #expect(decoded.body.disposition.rawValue == 200)
        #expect(decoded.body.disposition.name == nil)
        #expect(decoded.encoded() == bytes)
        #expect(mimiError(content(body: single(256))) == .valueOutOfRange(field: "disposition", value: 256))
        for raw in UInt8(0)...8 { #expect(Disposition(rawValue: raw).name.flatMap(Disposition.init(name:))?.rawValue == raw) }
    }

    @Test("cardinalities have exactly their elements; unknown cardinalities are refused")
    func cardinalities() {
        #expect(mimiError(content(body: .array([.unsigned(1), .text(""), .unsigned(4)]))) == .unknownCardinality(4))
        #expect(mimiError(content(body: .array([.unsigned(1), .text(""), .unsigned(1), .text("text/plain")])))?.code
                == "mimi.structure")
        #expect(mimiError(content(body: .array([.unsigned(1), .text(""), .unsigned(0), .null])))?.code == "mimi.structure")
        #expect(mimiError(content(body: .array([.unsigned(1), .text("")])))?.code == "mimi.structure")
    }

    @Test("multiparts need known semantics and at least two parts")
    func multiparts() throws {
        for semantics in PartSemantics.allCases {
            let bytes = content(body: multi([single(), single()], semantics: UInt64(semantics.rawValue)))
            let decoded = try MIMIContent(decoding: bytes)
            #expect(decoded.body.content == .multi(MultiPart(semantics: semantics, parts: [
                NestedPart(content: .single(SinglePart(contentType: "text/plain;charset=utf-8", content: Array("hi".utf8)))),
                NestedPart(content: .single(SinglePart(contentType: "text/plain;charset=utf-8", content: Array("hi".utf8)))),
            ])))
            #expect(decoded.encoded() == bytes)
        }
        #expect(mimiError(content(body: multi([single(), single()], semantics: 3))) == .unknownPartSemantics(3))
        #expect(mimiError(content(body: multi([single()]))) == .tooFewParts(1))
    }

    @Test("parts may nest 4 levels deep, not 5")
    func partDepth() throws {
        #expect(mimiError(content(body: nested(levels: 4))) == nil)
        #expect(mimiError(content(body: nested(levels: 5))) == .partNestingTooDeep(limit: 4))
    }

    @Test("more than 1024 parts are refused")
    func partCount() {
        let null = CBOR.array([.unsigned(1), .text(""), .unsigned(0)])
        #expect(mimiError(content(body: multi(Array(repeating: null, count: 1023)))) == nil)
        #expect(mimiError(content(body: multi(Array(repeating: null, count: 1024)))) == .tooManyParts(limit: 1024))
    }

    @Test("unknown extension keys and values are kept losslessly, in key order")
    func extensionsPreserved() throws {
        let bytes = content(extensions: ext([
            (.unsigned(0), .bytes([0])), (.unsigned(1), .text("mimi://a/u/s")), (.unsigned(2), .text("mimi://a/r/r")),
            (.unsigned(256), .array([.array([.bytes([0x12, 0x34]), .tagged(32, .text("http://example.com"))]),
                                     .array([.bytes([0x34, 0x56]), .unsigned(5771)])])),
            (.int(-5), .float(1.5)), (.text("zz"), .map([.init(key: .bytes([1]), value: .null)])),
        ]))
        let decoded = try MIMIContent(decoding: bytes)
        #expect(decoded.extensions.senderUri == "mimi://a/u/s")
        #expect(decoded.extensions.roomUri == "mimi://a/r/r")
        #expect(decoded.extensions.other.map(\.key) == [.unsigned(0), .unsigned(256), .int(-5), .text("zz")])
        #expect(decoded.extensions[.int(-5)] == .float(1.5))
        #expect(decoded.encoded() == bytes)
    }

    @Test("extensions nest at most 4 levels, counting the map itself")
    func extensionDepth() {
        let three: CBOR = .array([.array([.tagged(32, .text("x"))])])
        #expect(mimiError(content(extensions: ext([(.unsigned(256), three)]))) == nil)
        let five: CBOR = .array([.array([.array([.array([.unsigned(1)])])])])
        #expect(mimiError(content(extensions: ext([(.unsigned(256), five)]))) == .extensionNestingTooDeep(limit: 4))
    }

    @Test("extension keys must be safe integers or 1-255 byte text; inner map keys ints, text or bytes")
    func extensionKeys() {
        #expect(mimiError(content(extensions: ext([(.bytes([1]), .null)])))?.code == "mimi.extension_key")
        #expect(mimiError(content(extensions: ext([(.text(""), .null)])))?.code == "mimi.extension_key")
        #expect(mimiError(content(extensions: ext([(.text(String(repeating: "k", count: 256)), .null)])))?.code
                == "mimi.extension_key")
        #expect(mimiError(content(extensions: ext([(.text(String(repeating: "k", count: 255)), .null)]))) == nil)
        #expect(mimiError(content(extensions: ext([(.unsigned(1 << 53), .null)])))?.code == "mimi.extension_key")
        #expect(mimiError(content(extensions: ext([(.unsigned((1 << 53) - 1), .null)]))) == nil)
        #expect(mimiError(content(extensions: ext([(.negative((1 << 53) - 1), .null)])))?.code == "mimi.extension_key")
        #expect(mimiError(content(extensions: ext([(.negative((1 << 53) - 2), .null)]))) == nil)
        let innerBad: CBOR = .map([.init(key: .array([]), value: .null)])
        #expect(mimiError(content(extensions: ext([(.unsigned(9), innerBad)])))?.code == "mimi.extension_key")
    }

    @Test("senderUri and roomUri must be text")
    func registeredExtensionTypes() {
        #expect(mimiError(content(extensions: ext([(.unsigned(1), .unsigned(5))]))) == .invalidExtensionValue(key: "1 (senderUri)"))
        #expect(mimiError(content(extensions: ext([(.unsigned(2), .bytes([]))])))?.code == "mimi.extension_value")
    }

    @Test("duplicate or unsorted extension keys are refused as CBOR errors")
    func extensionOrder() {
        var bytes = content(extensions: ext([(.unsigned(3), .null), (.unsigned(4), .null)]))
        // Turn key 4 into a second key 3 / swap the order, byte by byte.
        guard let keyIndex = bytes.firstIndex(of: 0x04) else {
            Issue.record("key 4 not found")
            return
        }
        bytes[keyIndex] = 0x03
        #expect(mimiError(bytes)?.code == "cbor.duplicate_key")
        bytes[keyIndex] = 0x02
        #expect(mimiError(bytes)?.code == "cbor.unsorted_keys")
    }

    @Test("the message id needs both URIs and refuses URIs too long for the length prefix")
    func messageIdInputs() throws {
        let decoded = try MIMIContent(decoding: content())
        #expect(throws: MIMIError.missingURI(field: "senderUri")) { try decoded.messageId() }
        #expect(throws: MIMIError.missingURI(field: "roomUri")) { try decoded.messageId(senderUri: "a") }
        let long = String(repeating: "a", count: 65536)
        #expect(throws: MIMIError.uriTooLong(field: "roomUri", length: 65536)) {
            try decoded.messageId(senderUri: "a", roomUri: long)
        }
        #expect(try decoded.messageId(senderUri: "a", roomUri: String(repeating: "a", count: 65535)).bytes.count == 32)
    }

    @Test("every MIMI error has a stable mimi.* code")
    func codes() {
        let all: [MIMIError] = [
            .invalidStructure(field: "f", reason: "r"), .invalidSaltLength(0), .invalidMessageIdLength(field: "f", length: 0),
            .valueOutOfRange(field: "f", value: 0), .unknownCardinality(9), .unknownPartSemantics(9), .tooFewParts(1),
            .partNestingTooDeep(limit: 4), .tooManyParts(limit: 1), .extensionNestingTooDeep(limit: 4),
            .invalidExtensionKey("k"), .invalidExtensionValue(key: "1"), .uriTooLong(field: "f", length: 1),
            .missingURI(field: "f"), .invalidJSON("j"),
        ]
        #expect(Set(all.map(\.code)).count == all.count)
        #expect(all.allSatisfy { $0.code.hasPrefix("mimi.") && !$0.message.isEmpty })
        #expect(MIMIError.cbor(.truncated(offset: 3)).code == "cbor.truncated")
    }
}
