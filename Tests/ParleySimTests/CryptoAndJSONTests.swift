import Foundation
import ParleySim
import Testing

@Suite struct SHA256Tests {
    @Test func sha256MatchesFIPSKnownAnswers() {
        #expect(SimSHA256.hex(SimSHA256.hash([UInt8]())) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SimSHA256.hex(SimSHA256.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SimSHA256.hex(SimSHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SimSHA256.hex(SimSHA256.hash([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func hmacMatchesRFC4231() {
        #expect(SimSHA256.hex(SimSHA256.hmac(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8)))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        let longKey = [UInt8](repeating: 0xaa, count: 131)
        #expect(SimSHA256.hex(SimSHA256.hmac(key: longKey, message: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)))
                == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    @Test func hubSignatureIsPrefixedLowercaseHex() {
        let sig = SimSHA256.hubSignature(secret: "Jefe", body: Array("what do ya want for nothing?".utf8))
        #expect(sig == "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }
}

@Suite struct JSONTests {
    @Test func serializerEscapesLikeMeta() {
        let v: JSONValue = .object([("t", .string("äöå/😢\"\n"))])
        #expect(v.text() == #"{"t":"\u00e4\u00f6\u00e5\/\ud83d\ude22\"\n"}"#)
        #expect(v.text(escapeLikeMeta: false) == "{\"t\":\"äöå/😢\\\"\\n\"}")
    }

    @Test func parserRoundTripsEscapesAndKeepsKeyOrder() throws {
        let text = #"{"b":1,"a":[true,null,"\u00e4\/\ud83d\ude22"],"c":{"x":-2.5}}"#
        let v = try #require(JSONValue.parse(Array(text.utf8)))
        #expect(v["a"]?.array?[2].string == "ä/😢")
        #expect(v.text() == #"{"b":1,"a":[true,null,"\u00e4\/\ud83d\ude22"],"c":{"x":-2.5}}"#)
    }

    @Test func parserRejectsMalformedInput() {
        for bad in ["", "{", #"{"a":1,}"#, "[1 2]", #"{"a":"\ud83d"}"#, String(repeating: "[", count: 100) + String(repeating: "]", count: 100)] {
            #expect(JSONValue.parse(Array(bad.utf8)) == nil, "accepted \(bad)")
        }
    }
}
