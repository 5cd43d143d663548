import Testing
@testable import ParleyCore

@Suite("CBOR deterministic encoding")
struct CBOREncodingTests {
    /// RFC 8949 Appendix A examples whose preferred encoding is also deterministic.
    static let examples: [(CBOR, String)] = [
        (.unsigned(0), "00"), (.unsigned(23), "17"), (.unsigned(24), "1818"), (.unsigned(100), "1864"),
        (.unsigned(1000), "1903e8"), (.unsigned(1_000_000), "1a000f4240"),
        (.unsigned(1_000_000_000_000), "1b000000e8d4a51000"), (.unsigned(.max), "1bffffffffffffffff"),
        (.negative(.max), "3bffffffffffffffff"), (.int(-1), "20"), (.int(-10), "29"), (.int(-100), "3863"),
        (.int(-1000), "3903e7"),
        (.float(0.0), "f90000"), (.float(-0.0), "f98000"), (.float(1.0), "f93c00"),
        (.float(1.1), "fb3ff199999999999a"), (.float(1.5), "f93e00"), (.float(65504.0), "f97bff"),
        (.float(100000.0), "fa47c35000"), (.float(3.4028234663852886e+38), "fa7f7fffff"),
        (.float(1.0e+300), "fb7e37e43c8800759c"), (.float(5.960464477539063e-8), "f90001"),
        (.float(0.00006103515625), "f90400"), (.float(-4.0), "f9c400"), (.float(-4.1), "fbc010666666666666"),
        (.float(.infinity), "f97c00"), (.float(-.infinity), "f9fc00"),
        (.bool(false), "f4"), (.bool(true), "f5"), (.null, "f6"), (.undefined, "f7"), (.simple(16), "f0"),
        (.simple(255), "f8ff"),
        (.tagged(0, .text("2013-03-21T20:04:00Z")), "c074323031332d30332d32315432303a30343a30305a"),
        (.tagged(1, .unsigned(1_363_896_240)), "c11a514b67b0"),
        (.tagged(32, .text("http://www.example.com")), "d82076687474703a2f2f7777772e6578616d706c652e636f6d"),
        (.bytes([]), "40"), (.bytes([1, 2, 3, 4]), "4401020304"), (.text(""), "60"), (.text("a"), "6161"),
        (.text("IETF"), "6449455446"), (.text("\"\\"), "62225c"), (.text("ü"), "62c3bc"),
        (.text("水"), "63e6b0b4"), (.text("𐅑"), "64f0908591"),
        (.array([]), "80"), (.array([.unsigned(1), .array([.unsigned(2), .unsigned(3)]), .array([.unsigned(4), .unsigned(5)])]), "8301820203820405"),
        (.map([]), "a0"),
        (.map([.init(key: .unsigned(1), value: .unsigned(2)), .init(key: .unsigned(3), value: .unsigned(4))]), "a201020304"),
        (.map([.init(key: .text("a"), value: .unsigned(1)), .init(key: .text("b"), value: .array([.unsigned(2), .unsigned(3)]))]), "a26161016162820203"),
    ]

    @Test("encodes the RFC 8949 examples and decodes them back")
    func rfcExamples() throws {
        for (value, hex) in Self.examples {
            #expect(Hex.encode(value.encode()) == hex, "\(value)")
            #expect(try CBOR.decode(Vectors.hex(hex)) == value, "\(hex)")
        }
    }

    @Test("NaN is always written as the half-precision quiet NaN f97e00")
    func nan() throws {
        #expect(CBOR.float(.nan).encode() == [0xF9, 0x7E, 0x00])
        #expect(CBOR.float(-Double.nan).encode() == [0xF9, 0x7E, 0x00])
        guard case .float(let d) = try CBOR.decode([0xF9, 0x7E, 0x00]) else {
            Issue.record("expected a float")
            return
        }
        #expect(d.isNaN)
    }

    @Test("the encoder sorts map keys bytewise, not length-first as RFC 7049 canonical CBOR did")
    func encoderSortsBytewise() {
        // 256 encodes as 19 01 00 (3 bytes), "a" as 61 61 (2 bytes): bytewise 256 comes first.
        let map = CBOR.map([.init(key: .text("a"), value: .unsigned(0)), .init(key: .unsigned(256), value: .unsigned(0))])
        #expect(Hex.encode(map.encode()) == "a2190100006161" + "00")
        let ints = CBOR.map([.init(key: .int(-1), value: .null), .init(key: .unsigned(10), value: .null),
                             .init(key: .unsigned(2), value: .null)])
        #expect(Hex.encode(ints.encode()) == "a302f60af620f6")
    }
}

@Suite("CBOR strict decoding: one error per rule")
struct CBORErrorTests {
    func error(_ hex: String, maxDepth: Int = CBOR.defaultMaxDepth) -> CBORError? {
        do {
            _ = try CBOR.decode(Vectors.hex(hex), maxDepth: maxDepth)
            return nil
        } catch {
            return error
        }
    }

    @Test("truncated input", arguments: ["", "18", "1900", "4201", "6261", "8201", "a101", "c1", "fa3fc0"])
    func truncated(hex: String) {
        #expect(error(hex)?.code == "cbor.truncated")
    }

    @Test("a hostile array count is truncated input, not a huge allocation")
    func hugeCount() {
        #expect(error("9bffffffffffffffff") == .truncated(offset: 0))
        #expect(error("bbffffffffffffffff") == .truncated(offset: 0))
    }

    @Test("trailing bytes")
    func trailing() {
        #expect(error("0102") == .trailingBytes(offset: 1))
    }

    @Test("indefinite lengths", arguments: ["5f4101ff", "7f6161ff", "9f01ff", "bf0101ff"])
    func indefinite(hex: String) {
        #expect(error(hex) == .indefiniteLength(offset: 0))
    }

    @Test("a stray break code")
    func stray() {
        #expect(error("ff") == .unexpectedBreak(offset: 0))
        #expect(error("8101ff")?.code == "cbor.trailing_bytes")
    }

    @Test("non-shortest integers, lengths and tags", arguments: [
        "1817", "190017", "1a0000ffff", "1b00000000ffffffff", "3817", "580100", "780161", "980100", "b80100",
        "d80100", "c2420100", "c34101", "c249000000000000000001",
    ])
    func nonShortest(hex: String) {
        #expect(error(hex)?.code == "cbor.non_shortest", "\(hex)")
    }

    @Test("a bignum needing more than 64 bits is accepted")
    func bigBignum() throws {
        #expect(try CBOR.decode(Vectors.hex("c249010000000000000000")) == .tagged(2, .bytes([1, 0, 0, 0, 0, 0, 0, 0, 0])))
    }

    @Test("non-shortest floats and non-canonical NaNs", arguments: [
        "fa3fc00000", "fb3ff8000000000000", "fb47efffffe0000000", "fa7f800000", "f97e01", "f9fe00", "fa7fc00000",
        "fb7ff8000000000000",
    ])
    func nonShortestFloat(hex: String) {
        #expect(error(hex)?.code == "cbor.non_shortest_float", "\(hex)")
    }

    @Test("duplicate map keys")
    func duplicate() {
        #expect(error("a201000100") == .duplicateMapKey(offset: 3))
        #expect(error("a2616100616100") == .duplicateMapKey(offset: 4))
    }

    @Test("unsorted map keys, including RFC 7049 length-first order")
    func unsorted() {
        #expect(error("a202000100") == .unsortedMapKeys(offset: 3))
        // {"a": 0, 256: 0} in length-first order.
        #expect(error("a2616100190100" + "00") == .unsortedMapKeys(offset: 4))
    }

    @Test("nesting deeper than the limit")
    func tooDeep() throws {
        let ok = String(repeating: "81", count: 16) + "00"
        #expect(error(ok) == nil)
        #expect(error(String(repeating: "81", count: 17) + "00") == .nestingTooDeep(offset: 16, limit: 16))
        #expect(error(String(repeating: "c1", count: 17) + "00")?.code == "cbor.too_deep")
        #expect(error("a1" + "01" + "a1" + "01" + "00", maxDepth: 1)?.code == "cbor.too_deep")
        // A deep hostile input fails cleanly instead of overflowing the stack.
        #expect(error(String(repeating: "81", count: 100_000))?.code == "cbor.too_deep")
    }

    @Test("invalid UTF-8 in text", arguments: ["61ff", "62c080", "63eda080", "6180", "61c3"])
    func invalidUTF8(hex: String) {
        #expect(error(hex) == .invalidUTF8(offset: 0))
    }

    @Test("reserved additional information 28-30, and 31 on integers and tags",
          arguments: ["1c", "3d", "5e", "7c", "9d", "be", "dc", "fc", "fd", "fe", "1f", "3f", "df"])
    func reserved(hex: String) {
        #expect(error(hex) == .reservedAdditionalInfo(offset: 0))
    }

    @Test("two-byte simple values below 32")
    func invalidSimple() throws {
        #expect(error("f810") == .invalidSimpleValue(offset: 0))
        #expect(error("f81f") == .invalidSimpleValue(offset: 0))
        #expect(try CBOR.decode([0xF8, 0x20]) == .simple(32))
    }

    @Test("a length beyond addressable memory")
    func lengthTooLarge() {
        #expect(error("5bffffffffffffffff")?.code == "cbor.length_too_large")
    }

    @Test("every error has a distinct stable code and a message")
    func codes() {
        let all: [CBORError] = [
            .truncated(offset: 0), .trailingBytes(offset: 0), .indefiniteLength(offset: 0), .unexpectedBreak(offset: 0),
            .nonShortestEncoding(offset: 0), .nonShortestFloat(offset: 0), .duplicateMapKey(offset: 0),
            .unsortedMapKeys(offset: 0), .nestingTooDeep(offset: 0, limit: 1), .invalidUTF8(offset: 0),
            .reservedAdditionalInfo(offset: 0), .invalidSimpleValue(offset: 0), .lengthTooLarge(offset: 0),
        ]
        #expect(Set(all.map(\.code)).count == all.count)
        #expect(all.allSatisfy { $0.code.hasPrefix("cbor.") && !$0.message.isEmpty })
    }
}
