/// Big-endian writer for the binary formats in docs/ENVELOPE.md.
struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { bytes.append(UInt8(v >> 8)); bytes.append(UInt8(v & 0xff)) }
    mutating func u32(_ v: UInt32) { for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8((v >> UInt32(shift)) & 0xff)) } }
    mutating func u64(_ v: UInt64) { for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8((v >> UInt64(shift)) & 0xff)) } }
    mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    mutating func raw(_ v: [UInt8]) { bytes.append(contentsOf: v) }
    /// u8 length, then the bytes (callers check the length fits).
    mutating func short(_ v: [UInt8]) { u8(UInt8(v.count)); raw(v) }
    /// u16 length, then the bytes (callers check the length fits).
    mutating func medium(_ v: [UInt8]) { u16(UInt16(v.count)); raw(v) }
    /// u32 length, then the bytes (callers check the length fits).
    mutating func long(_ v: [UInt8]) { u32(UInt32(v.count)); raw(v) }
}

/// Big-endian reader that never traps: running past the end throws `EnvelopeError.malformed`
/// naming the field being read.
struct ByteReader {
    private let bytes: [UInt8]
    private(set) var offset: Int = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }
    var isAtEnd: Bool { offset == bytes.count }

    mutating func raw(_ count: Int, _ field: String) throws(EnvelopeError) -> [UInt8] {
        guard count >= 0, count <= remaining else {
            throw .malformed("truncated at \(field): needs \(count) bytes at offset \(offset), \(remaining) left")
        }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    mutating func u8(_ field: String) throws(EnvelopeError) -> UInt8 { try raw(1, field)[0] }

    mutating func u16(_ field: String) throws(EnvelopeError) -> UInt16 {
        let b = try raw(2, field)
        return UInt16(b[0]) << 8 | UInt16(b[1])
    }

    mutating func u32(_ field: String) throws(EnvelopeError) -> UInt32 {
        try raw(4, field).reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func u64(_ field: String) throws(EnvelopeError) -> UInt64 {
        try raw(8, field).reduce(0) { $0 << 8 | UInt64($1) }
    }

    mutating func i64(_ field: String) throws(EnvelopeError) -> Int64 { Int64(bitPattern: try u64(field)) }

    mutating func short(_ field: String) throws(EnvelopeError) -> [UInt8] { try raw(Int(try u8(field)), field) }
    mutating func medium(_ field: String) throws(EnvelopeError) -> [UInt8] { try raw(Int(try u16(field)), field) }
    mutating func long(_ field: String) throws(EnvelopeError) -> [UInt8] { try raw(Int(try u32(field)), field) }

    /// Decodes UTF-8 strictly (invalid sequences are malformed, not replaced).
    static func utf8(_ bytes: [UInt8], _ field: String) throws(EnvelopeError) -> String {
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw .malformed("\(field) is not valid UTF-8")
        }
        return s
    }
}
