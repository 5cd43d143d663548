import Testing
@testable import ParleyCore

@Suite("Properties (seeded SplitMix64)")
struct PropertyTests {
    @Test("decode ∘ encode is the identity on random MIMI content", arguments: [UInt64(1), 2, 3, 4])
    func mimiRoundTrip(seed: UInt64) throws {
        var gen = Gen(seed: seed)
        for _ in 0..<500 {
            let message = gen.content()
            let bytes = message.encoded()
            let decoded = try MIMIContent(decoding: bytes)
            #expect(decoded == message)
            #expect(decoded.encoded() == bytes)
        }
    }

    @Test("the JSON form round-trips random MIMI content", arguments: [UInt64(11), 12])
    func jsonRoundTrip(seed: UInt64) throws {
        var gen = Gen(seed: seed)
        for _ in 0..<300 {
            let message = gen.content()
            let bytes = message.encoded()
            let json = try MIMIContent.json(fromCBOR: bytes)
            let back = try MIMIContent(json: Array(json.utf8))
            #expect(back.encoded() == bytes)
            #expect(back == message)
        }
    }

    @Test("decode ∘ encode is the identity on random CBOR items")
    func cborRoundTrip() throws {
        var gen = Gen(seed: 99)
        for _ in 0..<2000 {
            let value = gen.cbor(depth: 5)
            let bytes = value.encode()
            let decoded = try CBOR.decode(bytes)
            #expect(decoded.encode() == bytes)
            #expect(decoded == value)
        }
    }

    /// Accepted input must be exactly the deterministic encoding of what was decoded.
    private func check(_ bytes: [UInt8]) -> (mimi: Bool, cbor: Bool) {
        var accepted = (mimi: false, cbor: false)
        do {
            let content = try MIMIContent(decoding: bytes)
            #expect(content.encoded() == bytes)
            accepted.mimi = true
        } catch {
            #expect(!error.code.isEmpty)
        }
        do {
            let value = try CBOR.decode(bytes)
            #expect(value.encode() == bytes)
            accepted.cbor = true
        } catch {
            #expect(!error.code.isEmpty)
        }
        return accepted
    }

    @Test("mutated vectors (bit flips, truncations, insertions, deletions) never crash, and what decodes re-encodes identically")
    func mutations() throws {
        var gen = Gen(seed: 2024)
        var acceptedMIMI = 0, rejected = 0
        let vectors = try Vectors.names.map { try Vectors.bytes($0) }
        for round in 0..<6000 {
            var bytes = vectors[round % vectors.count]
            for _ in 0..<gen.int(1...3) {
                guard !bytes.isEmpty else { break }
                let i = gen.int(0...(bytes.count - 1))
                switch gen.int(0...4) {
                case 0: bytes[i] ^= UInt8(1) << UInt8(gen.int(0...7))
                case 1: bytes.removeSubrange(i...)
                case 2: bytes.insert(UInt8(gen.int(0...255)), at: i)
                case 3: bytes.remove(at: i)
                default: bytes[i] = UInt8(gen.int(0...255))
                }
            }
            let result = check(bytes)
            if result.mimi { acceptedMIMI += 1 } else { rejected += 1 }
        }
        // Both outcomes occur: some flips only change content bytes, most break the structure.
        #expect(acceptedMIMI > 0)
        #expect(rejected > 0)
    }

    @Test("random byte strings never crash the decoders")
    func randomBytes() {
        var gen = Gen(seed: 7)
        for _ in 0..<5000 {
            _ = check(gen.bytes(max: 64))
        }
        // Short prefixes that look like containers with huge counts.
        for head: UInt8 in [0x9B, 0xBB, 0x5B, 0x7B, 0x87] {
            _ = check([head] + gen.bytes(max: 9))
        }
    }
}
