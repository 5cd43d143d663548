/// A CBOR data item (RFC 8949), as used by the MIMI content format.
///
/// ``encode()`` always emits the core deterministic encoding of RFC 8949 §4.2.1 (shortest heads, definite
/// lengths, map entries sorted by the bytewise order of their encoded keys, shortest exact floats), and
/// ``decode(_:maxDepth:)`` accepts only that encoding, so `decode(b).encode() == b` for every accepted `b`.
public indirect enum CBOR: Sendable, Hashable {
    /// Major type 0: an unsigned integer.
    case unsigned(UInt64)
    /// Major type 1: the integer `-1 - n` (so `.negative(0)` is -1 and `.negative(UInt64.max)` is -2^64).
    case negative(UInt64)
    /// Major type 2: a byte string.
    case bytes([UInt8])
    /// Major type 3: a UTF-8 text string.
    case text(String)
    /// Major type 4: an array.
    case array([CBOR])
    /// Major type 5: a map, as ordered entries. The encoder sorts them; the decoder returns them sorted.
    case map([MapEntry])
    /// Major type 6: a tagged item.
    case tagged(UInt64, CBOR)
    /// Major type 7 simple values `false`/`true`.
    case bool(Bool)
    /// Simple value 22.
    case null
    /// Simple value 23.
    case undefined
    /// Any other simple value: 0–19 or 32–255 (20–31 are booleans, null, undefined or reserved and are never
    /// produced by the decoder; encoding them yields bytes the decoder rejects).
    case simple(UInt8)
    /// A floating-point number, encoded in the shortest IEEE 754 form that holds it exactly (half, single or
    /// double); every NaN is encoded as the half-precision quiet NaN `0xF97E00`, the only NaN MIMI permits.
    /// As with `Double`, a `.float(.nan)` never compares equal, even to itself; compare encodings instead.
    case float(Double)

    /// One key/value pair of a ``CBOR/map(_:)``.
    public struct MapEntry: Sendable, Hashable {
        public var key: CBOR
        public var value: CBOR

        public init(key: CBOR, value: CBOR) {
            self.key = key
            self.value = value
        }
    }

    /// Builds an integer item of the right major type.
    public static func int(_ value: Int64) -> CBOR {
        value >= 0 ? .unsigned(UInt64(value)) : .negative(UInt64(-(value + 1)))
    }

    /// The value as an `Int64`, when it is an integer that fits.
    public var int64Value: Int64? {
        switch self {
        case .unsigned(let n): return n <= UInt64(Int64.max) ? Int64(n) : nil
        case .negative(let n): return n <= UInt64(Int64.max) ? -1 - Int64(n) : nil
        default: return nil
        }
    }

    /// The deterministic encoding of this item.
    public func encode() -> [UInt8] {
        var writer = CBORWriter()
        writer.append(self)
        return writer.bytes
    }
}

/// Why bytes were refused as deterministic CBOR. Each case has a stable ``code``.
public enum CBORError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The input ended inside an item.
    case truncated(offset: Int)
    /// A complete item was followed by more bytes.
    case trailingBytes(offset: Int)
    /// An indefinite-length string, array or map (forbidden by deterministic encoding).
    case indefiniteLength(offset: Int)
    /// A "break" stop code (0xFF) outside an indefinite-length item.
    case unexpectedBreak(offset: Int)
    /// An integer, length or tag not in its shortest form, or a bignum that fits in a plain integer.
    case nonShortestEncoding(offset: Int)
    /// A float that fits exactly in a shorter float, or a NaN other than `0xF97E00`.
    case nonShortestFloat(offset: Int)
    /// Two equal keys in one map.
    case duplicateMapKey(offset: Int)
    /// Map keys not in bytewise lexicographic order of their encodings.
    case unsortedMapKeys(offset: Int)
    /// Arrays, maps and tags nested deeper than the limit.
    case nestingTooDeep(offset: Int, limit: Int)
    /// A text string that is not valid UTF-8.
    case invalidUTF8(offset: Int)
    /// Additional information 28, 29 or 30, which RFC 8949 reserves.
    case reservedAdditionalInfo(offset: Int)
    /// A two-byte simple value below 32 (RFC 8949 §3.3 makes these invalid).
    case invalidSimpleValue(offset: Int)
    /// A length larger than this platform can address.
    case lengthTooLarge(offset: Int)

    /// A stable machine-readable code, e.g. `cbor.truncated`.
    public var code: String {
        switch self {
        case .truncated: "cbor.truncated"
        case .trailingBytes: "cbor.trailing_bytes"
        case .indefiniteLength: "cbor.indefinite_length"
        case .unexpectedBreak: "cbor.unexpected_break"
        case .nonShortestEncoding: "cbor.non_shortest"
        case .nonShortestFloat: "cbor.non_shortest_float"
        case .duplicateMapKey: "cbor.duplicate_key"
        case .unsortedMapKeys: "cbor.unsorted_keys"
        case .nestingTooDeep: "cbor.too_deep"
        case .invalidUTF8: "cbor.invalid_utf8"
        case .reservedAdditionalInfo: "cbor.reserved_info"
        case .invalidSimpleValue: "cbor.invalid_simple"
        case .lengthTooLarge: "cbor.length_too_large"
        }
    }

    /// The byte offset in the input where the problem was found.
    public var offset: Int {
        switch self {
        case .truncated(let o), .trailingBytes(let o), .indefiniteLength(let o), .unexpectedBreak(let o),
             .nonShortestEncoding(let o), .nonShortestFloat(let o), .duplicateMapKey(let o),
             .unsortedMapKeys(let o), .nestingTooDeep(let o, _), .invalidUTF8(let o),
             .reservedAdditionalInfo(let o), .invalidSimpleValue(let o), .lengthTooLarge(let o):
            o
        }
    }

    /// Text a person can act on.
    public var message: String {
        switch self {
        case .truncated: "input ends in the middle of a CBOR item"
        case .trailingBytes: "extra bytes after the end of the CBOR item"
        case .indefiniteLength: "indefinite-length item; deterministic CBOR requires definite lengths"
        case .unexpectedBreak: "break stop code (0xff) outside an indefinite-length item"
        case .nonShortestEncoding: "integer, length or tag not in shortest form (or a bignum that fits in an integer)"
        case .nonShortestFloat: "float not in its shortest exact form, or a NaN other than 0xf97e00"
        case .duplicateMapKey: "duplicate map key"
        case .unsortedMapKeys: "map keys not sorted in bytewise order of their encodings"
        case .nestingTooDeep(_, let limit): "arrays, maps and tags nested more than \(limit) levels deep"
        case .invalidUTF8: "text string is not valid UTF-8"
        case .reservedAdditionalInfo: "reserved additional information value (28-30)"
        case .invalidSimpleValue: "two-byte simple value below 32"
        case .lengthTooLarge: "length too large"
        }
    }

    public var description: String { "\(code): \(message) at byte \(offset)" }
}

extension CBOR {
    /// The nesting limit ``decode(_:maxDepth:)`` applies by default. MIMI content itself needs at most 8
    /// (4 levels of nested parts, each inside its `parts` array); 16 leaves room without inviting stack abuse.
    public static let defaultMaxDepth = 16

    /// Decodes exactly one deterministically encoded item filling `bytes`.
    /// - Parameter maxDepth: how many arrays, maps and tags may nest (the outermost counts as 1).
    public static func decode(_ bytes: [UInt8], maxDepth: Int = CBOR.defaultMaxDepth) throws(CBORError) -> CBOR {
        var reader = CBORReader(bytes)
        let value = try reader.readValue(depth: 0, maxDepth: maxDepth)
        try reader.expectEnd()
        return value
    }
}

// MARK: - Writer

/// Appends deterministic CBOR to a byte buffer.
struct CBORWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    /// The initial byte plus argument, in shortest form.
    mutating func head(_ major: UInt8, _ value: UInt64) {
        let m = major << 5
        switch value {
        case 0..<24:
            bytes.append(m | UInt8(value))
        case 24...0xFF:
            bytes.append(m | 24)
            bytes.append(UInt8(value))
        case 0x100...0xFFFF:
            bytes.append(m | 25)
            appendBigEndian(value, count: 2)
        case 0x1_0000...0xFFFF_FFFF:
            bytes.append(m | 26)
            appendBigEndian(value, count: 4)
        default:
            bytes.append(m | 27)
            appendBigEndian(value, count: 8)
        }
    }

    private mutating func appendBigEndian(_ value: UInt64, count: Int) {
        var shift = (count - 1) * 8
        while shift >= 0 {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
            shift -= 8
        }
    }

    mutating func unsigned(_ value: UInt64) { head(0, value) }

    mutating func byteString(_ value: [UInt8]) {
        head(2, UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func text(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            head(3, UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    mutating func arrayHeader(_ count: Int) { head(4, UInt64(count)) }
    mutating func null() { bytes.append(0xF6) }
    mutating func bool(_ value: Bool) { bytes.append(value ? 0xF5 : 0xF4) }

    /// Writes map entries sorted by their encoded keys. Keys must be distinct; equal keys are written as given.
    mutating func map(_ entries: [CBOR.MapEntry]) {
        head(5, UInt64(entries.count))
        if entries.isEmpty { return }
        // Fast path: unsigned keys below 24 encode as one byte, so numeric order is encoded order.
        if entries.allSatisfy({ if case .unsigned(let n) = $0.key { n < 24 } else { false } }) {
            func key(_ e: CBOR.MapEntry) -> UInt64 { if case .unsigned(let n) = e.key { n } else { 0 } }
            var ordered = true
            for i in entries.indices.dropFirst() where key(entries[i - 1]) > key(entries[i]) { ordered = false }
            for entry in ordered ? entries : entries.sorted(by: { key($0) < key($1) }) {
                head(0, key(entry))
                append(entry.value)
            }
            return
        }
        var encoded: [(key: [UInt8], value: CBOR)] = []
        encoded.reserveCapacity(entries.count)
        for entry in entries {
            var keyWriter = CBORWriter(capacity: 16)
            keyWriter.append(entry.key)
            encoded.append((keyWriter.bytes, entry.value))
        }
        encoded.sort { $0.key.lexicographicallyPrecedes($1.key) }
        for entry in encoded {
            bytes.append(contentsOf: entry.key)
            append(entry.value)
        }
    }

    mutating func float(_ value: Double) {
        if value.isNaN {
            bytes.append(contentsOf: [0xF9, 0x7E, 0x00])
            return
        }
        let half = Float16(value)
        if Double(half) == value {
            bytes.append(0xF9)
            appendBigEndian(UInt64(half.bitPattern), count: 2)
            return
        }
        let single = Float(value)
        if Double(single) == value {
            bytes.append(0xFA)
            appendBigEndian(UInt64(single.bitPattern), count: 4)
            return
        }
        bytes.append(0xFB)
        appendBigEndian(value.bitPattern, count: 8)
    }

    mutating func append(_ value: CBOR) {
        switch value {
        case .unsigned(let n): head(0, n)
        case .negative(let n): head(1, n)
        case .bytes(let b): byteString(b)
        case .text(let s): text(s)
        case .array(let items):
            arrayHeader(items.count)
            for item in items { append(item) }
        case .map(let entries): map(entries)
        case .tagged(let tag, let item):
            head(6, tag)
            append(item)
        case .bool(let b): bool(b)
        case .null: null()
        case .undefined: bytes.append(0xF7)
        case .simple(let v): head(7, UInt64(v))
        case .float(let d): float(d)
        }
    }
}

// MARK: - Reader

/// A strict cursor over deterministic CBOR. Every read either consumes a well-formed deterministic item or
/// throws; callers (the generic decoder and the MIMI decoder) build on the same checks.
struct CBORReader {
    let bytes: [UInt8]
    private(set) var position: Int = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// A decoded initial byte and argument.
    struct Head {
        var major: UInt8
        /// The additional information (low five bits).
        var info: UInt8
        var argument: UInt64
        var offset: Int
    }

    var isAtEnd: Bool { position >= bytes.count }

    func expectEnd() throws(CBORError) {
        if position != bytes.count { throw .trailingBytes(offset: position) }
    }

    /// The major type of the next item without consuming it.
    func peekMajor() throws(CBORError) -> UInt8 {
        guard position < bytes.count else { throw .truncated(offset: position) }
        return bytes[position] >> 5
    }

    /// The next initial byte without consuming it.
    func peekByte() throws(CBORError) -> UInt8 {
        guard position < bytes.count else { throw .truncated(offset: position) }
        return bytes[position]
    }

    /// Reads an initial byte and its argument, rejecting reserved, indefinite and non-shortest forms.
    /// For major type 7 the argument of infos 25–27 is the raw float bits, which are not checked here.
    mutating func readHead() throws(CBORError) -> Head {
        let start = position
        guard position < bytes.count else { throw .truncated(offset: start) }
        let initial = bytes[position]
        position += 1
        let major = initial >> 5
        let info = initial & 0x1F
        let argument: UInt64
        switch info {
        case 0..<24:
            argument = UInt64(info)
        case 24, 25, 26, 27:
            let count = 1 << Int(info - 24)
            guard bytes.count - position >= count else { throw .truncated(offset: start) }
            var v: UInt64 = 0
            for i in 0..<count { v = v << 8 | UInt64(bytes[position + i]) }
            position += count
            argument = v
            if major != 7 {
                let minimum: UInt64 = switch info {
                case 24: 24
                case 25: 0x100
                case 26: 0x1_0000
                default: 0x1_0000_0000
                }
                if v < minimum { throw .nonShortestEncoding(offset: start) }
            } else if info == 24, v < 32 {
                throw .invalidSimpleValue(offset: start)
            }
        case 28, 29, 30:
            throw .reservedAdditionalInfo(offset: start)
        default: // 31
            if major == 7 { throw .unexpectedBreak(offset: start) }
            if major == 0 || major == 1 || major == 6 { throw .reservedAdditionalInfo(offset: start) }
            throw .indefiniteLength(offset: start)
        }
        return Head(major: major, info: info, argument: argument, offset: start)
    }

    /// Consumes `count` bytes and returns their range.
    mutating func take(_ length: UInt64, from offset: Int) throws(CBORError) -> Range<Int> {
        guard length <= UInt64(Int.max) else { throw .lengthTooLarge(offset: offset) }
        let n = Int(length)
        guard bytes.count - position >= n else { throw .truncated(offset: offset) }
        let range = position..<(position + n)
        position += n
        return range
    }

    func text(in range: Range<Int>, offset: Int) throws(CBORError) -> String {
        let s: String? = bytes.withUnsafeBufferPointer { buffer in
            let slice = UnsafeBufferPointer(rebasing: buffer[range])
            return UTF8Validation.isValid(slice) ? String(decoding: slice, as: UTF8.self) : nil
        }
        guard let s else { throw .invalidUTF8(offset: offset) }
        return s
    }

    /// Reads any item. `depth` is the number of containers already open around it.
    mutating func readValue(depth: Int, maxDepth: Int) throws(CBORError) -> CBOR {
        let head = try readHead()
        switch head.major {
        case 0:
            return .unsigned(head.argument)
        case 1:
            return .negative(head.argument)
        case 2:
            return .bytes(Array(bytes[try take(head.argument, from: head.offset)]))
        case 3:
            let range = try take(head.argument, from: head.offset)
            return .text(try text(in: range, offset: head.offset))
        case 4:
            guard depth < maxDepth else { throw .nestingTooDeep(offset: head.offset, limit: maxDepth) }
            // Every item takes at least one byte: a count beyond what is left is truncated input, and
            // checking first keeps a hostile count from reserving huge memory.
            guard head.argument <= UInt64(bytes.count - position) else { throw .truncated(offset: head.offset) }
            var items: [CBOR] = []
            items.reserveCapacity(Int(head.argument))
            for _ in 0..<head.argument { items.append(try readValue(depth: depth + 1, maxDepth: maxDepth)) }
            return .array(items)
        case 5:
            guard depth < maxDepth else { throw .nestingTooDeep(offset: head.offset, limit: maxDepth) }
            guard head.argument <= UInt64(bytes.count - position) / 2 else { throw .truncated(offset: head.offset) }
            var entries: [CBOR.MapEntry] = []
            entries.reserveCapacity(Int(head.argument))
            var previousKey: Range<Int>? = nil
            for _ in 0..<head.argument {
                let keyStart = position
                let key = try readValue(depth: depth + 1, maxDepth: maxDepth)
                let keyRange = keyStart..<position
                if let previous = previousKey {
                    try checkKeyOrder(previous, keyRange)
                }
                previousKey = keyRange
                let value = try readValue(depth: depth + 1, maxDepth: maxDepth)
                entries.append(CBOR.MapEntry(key: key, value: value))
            }
            return .map(entries)
        case 6:
            guard depth < maxDepth else { throw .nestingTooDeep(offset: head.offset, limit: maxDepth) }
            let item = try readValue(depth: depth + 1, maxDepth: maxDepth)
            // Preferred serialization (§3.4.3): a bignum that fits in 64 bits must be a plain integer,
            // and a bignum has no leading zero bytes.
            if head.argument == 2 || head.argument == 3, case .bytes(let b) = item {
                if b.count <= 8 || b.first == 0 { throw .nonShortestEncoding(offset: head.offset) }
            }
            return .tagged(head.argument, item)
        default:
            return try simpleOrFloat(head)
        }
    }

    /// Throws unless the encoded key at `current` sorts strictly after the one at `previous`.
    func checkKeyOrder(_ previous: Range<Int>, _ current: Range<Int>) throws(CBORError) {
        let a = bytes[previous], b = bytes[current]
        if a.elementsEqual(b) { throw .duplicateMapKey(offset: current.lowerBound) }
        if !a.lexicographicallyPrecedes(b) { throw .unsortedMapKeys(offset: current.lowerBound) }
    }

    private func simpleOrFloat(_ head: Head) throws(CBORError) -> CBOR {
        switch head.info {
        case 20: return .bool(false)
        case 21: return .bool(true)
        case 22: return .null
        case 23: return .undefined
        case 24: return .simple(UInt8(head.argument))
        case 25:
            let half = Float16(bitPattern: UInt16(head.argument))
            if half.isNaN, head.argument != 0x7E00 { throw .nonShortestFloat(offset: head.offset) }
            return .float(Double(half))
        case 26:
            let single = Float(bitPattern: UInt32(head.argument))
            if single.isNaN || Double(Float16(single)) == Double(single) {
                throw .nonShortestFloat(offset: head.offset)
            }
            return .float(Double(single))
        case 27:
            let double = Double(bitPattern: head.argument)
            if double.isNaN || Double(Float(double)) == double { throw .nonShortestFloat(offset: head.offset) }
            return .float(double)
        default:
            return .simple(head.info)
        }
    }
}

/// Strict UTF-8 validation (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
enum UTF8Validation {
    static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        let n = bytes.count
        while i < n {
            let b0 = bytes[i]
            if b0 < 0x80 {
                i += 1
                continue
            }
            let length: Int
            var lower: UInt8 = 0x80, upper: UInt8 = 0xBF  // allowed range of the second byte
            switch b0 {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; lower = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; upper = 0x9F
            case 0xF0: length = 4; lower = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; upper = 0x8F
            default: return false
            }
            guard n - i >= length else { return false }
            let b1 = bytes[i + 1]
            guard b1 >= lower, b1 <= upper else { return false }
            for j in 2..<length where bytes[i + j] & 0xC0 != 0x80 { return false }
            i += length
        }
        return true
    }
}
