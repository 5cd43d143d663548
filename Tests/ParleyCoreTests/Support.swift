import Foundation
@testable import ParleyCore

/// The MIMI draft's examples, copied from `shared/vectors/mimi-content` into `Fixtures/mimi-content`
/// (source: draft-ietf-mimi-content examples; `expected.json` lists each example's message id).
enum Vectors {
    static let directory: URL = {
        let here = URL(fileURLWithPath: #filePath)  // <repo>/Tests/ParleyCoreTests/Support.swift
        let repo = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return repo.appendingPathComponent("Fixtures/mimi-content")
    }()

    static let names = ["original", "reply", "reaction", "edit", "delete", "attachment"]

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent("\(name).cbor")))
    }

    struct Expected: Decodable {
        var message_id: String
        var sender: String
        var room: String
        var replaces: String?
        var inReplyTo: String?
        var canonical_reencode_equal: Bool
    }

    static func expected() throws -> [String: Expected] {
        let data = try Data(contentsOf: directory.appendingPathComponent("expected.json"))
        return try JSONDecoder().decode([String: Expected].self, from: data)
    }

    static func hex(_ s: String) -> [UInt8] { Hex.decode(s.replacingOccurrences(of: " ", with: "")) ?? [] }
}


/// Random values for property tests.
struct Gen {
    var rng: SplitMix64

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }
    mutating func bool() -> Bool { Bool.random(using: &rng) }
    mutating func u64() -> UInt64 { rng.next() }

    /// Small values most of the time, with every head size represented.
    mutating func uint() -> UInt64 {
        switch int(0...4) {
        case 0: UInt64(int(0...23))
        case 1: UInt64(int(24...255))
        case 2: UInt64(int(256...65535))
        case 3: UInt64.random(in: 65536...UInt64(UInt32.max), using: &rng)
        default: u64()
        }
    }

    mutating func bytes(max: Int = 40) -> [UInt8] { (0..<int(0...max)).map { _ in UInt8.random(in: 0...255, using: &rng) } }

    mutating func text(max: Int = 20) -> String {
        let pool: [Unicode.Scalar] = ["a", "z", "0", " ", "/", ":", "\"", "\\", "é", "❤", "中", "😀", "\u{0}", "\n"]
        var s = ""
        for _ in 0..<int(0...max) { s.unicodeScalars.append(pool[int(0...(pool.count - 1))]) }
        return s
    }

    mutating func messageId() -> MessageId? {
        bool() ? MessageId(bytes: [1] + (0..<31).map { _ in UInt8.random(in: 0...255, using: &rng) }) : nil
    }

    /// Any CBOR item MIMI allows inside an extension, at most `depth` containers deep.
    mutating func cbor(depth: Int) -> CBOR {
        let choice = int(0...(depth > 0 ? 11 : 8))
        switch choice {
        case 0: return .unsigned(uint())
        case 1: return .negative(uint())
        case 2: return .bytes(bytes(max: 10))
        case 3: return .text(text())
        case 4: return .bool(bool())
        case 5: return .null
        case 6: return .undefined
        case 7:
            let v = UInt8(int(0...255))
            return (20...31).contains(v) ? .simple(0) : .simple(v)
        case 8:
            let values: [Double] = [0, -0.0, 1.5, -2, 65504, 1e-7, 3.4e38, 1.0e300, .pi, .infinity, -.infinity, 100000.5]
            return .float(values[int(0...(values.count - 1))])
        case 9:
            return .array((0..<int(0...3)).map { _ in cbor(depth: depth - 1) })
        case 10:
            var entries: [CBOR.MapEntry] = []
            var seen = Set<[UInt8]>()
            for _ in 0..<int(0...3) {
                let key: CBOR = switch int(0...2) {
                case 0: .unsigned(UInt64(int(0...1000)))
                case 1: .text(text(max: 5))
                default: .bytes(bytes(max: 4))
                }
                if seen.insert(key.encode()).inserted {
                    entries.append(CBOR.MapEntry(key: key, value: cbor(depth: depth - 1)))
                }
            }
            // The decoder returns entries in key order; generate them that way for equality checks.
            return .map(entries.sorted { $0.key.encode().lexicographicallyPrecedes($1.key.encode()) })
        default:
            return .tagged(UInt64(int(0...300)), cbor(depth: depth - 1))
        }
    }

    mutating func part(level: Int) -> NestedPart {
        let disposition = Disposition(rawValue: UInt8(int(0...255)))
        let language = bool() ? "" : ["en", "fr", "en-US,fr-CA"][int(0...2)]
        let content: NestedPart.Content
        switch int(0...(level < MIMIContent.maxPartDepth ? 3 : 2)) {
        case 0: content = .null
        case 1: content = .single(SinglePart(contentType: text(), content: bytes()))
        case 2:
            content = .external(ExternalPart(
                contentType: text(), url: text(), expires: UInt32(truncatingIfNeeded: uint()), size: uint(),
                encAlg: UInt16(truncatingIfNeeded: uint()), key: bytes(max: 16), nonce: bytes(max: 12),
                aad: bytes(max: 4), hashAlg: UInt8(truncatingIfNeeded: uint()), contentHash: bytes(max: 32),
                description: text(), filename: text()))
        default:
            let semantics = PartSemantics(rawValue: UInt8(int(0...2))) ?? .processAll
            content = .multi(MultiPart(semantics: semantics, parts: (0..<int(2...3)).map { _ in part(level: level + 1) }))
        }
        return NestedPart(disposition: disposition, language: language, content: content)
    }

    mutating func content() -> MIMIContent {
        var other: [CBOR.MapEntry] = []
        var seen = Set<[UInt8]>()
        for _ in 0..<int(0...3) {
            let key: CBOR = switch int(0...2) {
            case 0: .unsigned(UInt64(int(0...100_000)))
            case 1: .negative(UInt64(int(0...100)))
            default: .text("x" + text(max: 6))
            }
            if key == .unsigned(1) || key == .unsigned(2) { continue }
            if seen.insert(key.encode()).inserted {
                other.append(CBOR.MapEntry(key: key, value: cbor(depth: 3)))
            }
        }
        other.sort { $0.key.encode().lexicographicallyPrecedes($1.key.encode()) }
        return MIMIContent(
            salt: (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) },
            replaces: messageId(), topicId: bytes(max: 8),
            expires: bool() ? nil : Expiration(relative: bool(), time: UInt32(truncatingIfNeeded: uint())),
            inReplyTo: messageId(),
            extensions: MIMIExtensions(senderUri: bool() ? "mimi://a.example/u/" + text() : nil,
                                       roomUri: bool() ? "mimi://a.example/r/" + text() : nil, other: other),
            body: part(level: 1))
    }
}
