/// A parsed JSON value for adapter authors, with lenient accessors: apps document a field as a string and then
/// send a number (or the reverse), so ``string`` accepts numbers and ``int64`` accepts numeric strings.
///
/// Numbers keep their literal text, so 64-bit ids and large timestamps never lose digits through `Double`.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// The number exactly as written, e.g. `"1749416383123"` or `"1.5e3"`.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Parses UTF-8 JSON text (RFC 8259, at most 256 levels deep).
    /// - Throws: ``AdapterError/Code/malformedPayload`` naming the byte offset of the problem.
    public static func parse(_ bytes: [UInt8]) throws(AdapterError) -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        return try parser.parseDocument()
    }

    /// ``parse(_:)``, except that with `repairingText` a lone surrogate escape or invalid UTF-8 in a string
    /// becomes U+FFFD instead of failing: for webhooks, where one damaged character must not drop every event
    /// of the body (a retry would bring the same bytes).
    package static func parse(_ bytes: [UInt8], repairingText: Bool) throws(AdapterError) -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        parser.repairsText = repairingText
        return try parser.parseDocument()
    }

    /// The member `key` of an object; `nil` for other values or a missing key.
    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// Element `index` of an array; `nil` when out of range or not an array.
    public subscript(index: Int) -> JSONValue? {
        if case .array(let items) = self, items.indices.contains(index) { return items[index] }
        return nil
    }

    /// A string, or a number's literal text (ids sent as numbers).
    public var string: String? {
        switch self {
        case .string(let s): return s
        case .number(let n): return n
        default: return nil
        }
    }

    /// A non-empty ``string``.
    public var nonEmptyString: String? {
        guard let s = string, !s.isEmpty else { return nil }
        return s
    }

    /// An integer from a number or a numeric string; fractional values are truncated toward zero.
    public var int64: Int64? {
        switch self {
        case .number(let n), .string(let n):
            let t = n.trimmingSpaces
            if let i = Int64(t) { return i }
            if let d = Double(t), d.isFinite, d.magnitude < 9.2e18 { return Int64(d) }
            return nil
        default: return nil
        }
    }

    /// A floating-point value from a number or a numeric string.
    public var double: Double? {
        switch self {
        case .number(let n), .string(let n): return Double(n.trimmingSpaces)
        default: return nil
        }
    }

    /// A Boolean from `true`/`false`, the strings `"true"`/`"false"`, or the numbers 1/0.
    public var bool: Bool? {
        switch self {
        case .bool(let b): return b
        case .string("true"), .number("1"): return true
        case .string("false"), .number("0"): return false
        default: return nil
        }
    }

    /// The elements of an array (`nil` otherwise).
    public var array: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    /// The members of an object (`nil` otherwise).
    public var object: [String: JSONValue]? {
        if case .object(let members) = self { return members }
        return nil
    }

    public var isNull: Bool { self == .null }

    /// Compact JSON text with object keys sorted, so equal values serialize to equal bytes.
    public var serialized: [UInt8] {
        var out: [UInt8] = []
        write(into: &out)
        return out
    }

    private func write(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let n): out.append(contentsOf: n.utf8)
        case .string(let s): Self.appendString(s, to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, key) in members.keys.sorted().enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.appendString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                members[key]?.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Appends `s` as a JSON string literal: quoted, with `"`, `\` and control characters escaped (`\n`, `\r`,
    /// `\t`, otherwise `\u00XX`) and everything else, `/` and non-ASCII included, copied as is. This is how
    /// ``serialized`` writes strings; adapters that write JSON by hand use it to produce the same bytes.
    public static func appendString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { appendEscaped($0, to: &out) }
        out.append(UInt8(ascii: "\""))
    }

    /// Text is copied in runs between the bytes that need escaping: a message's text rarely has any.
    private static func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        var runStart = 0
        for index in 0..<utf8.count {
            let byte = utf8[index]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            if runStart < index { out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index])) }
            runStart = index + 1
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(byte)
            case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
            default:
                let hex: StaticString = "0123456789abcdef"
                out.append(contentsOf: [92, UInt8(ascii: "u"), 48, 48, hex.utf8Start[Int(byte >> 4)], hex.utf8Start[Int(byte & 15)]])
            }
        }
        if runStart < utf8.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...])) }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .number(String(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(nilLiteral: ()) { self = .null }
}

extension String {
    /// Without leading and trailing spaces (numeric strings sometimes carry them).
    fileprivate var trimmingSpaces: Substring {
        guard let first = firstIndex(where: { $0 != " " }), let last = lastIndex(where: { $0 != " " }) else { return "" }
        return self[first...last]
    }
}

extension JSONValue {
    /// Parses a JSON array of objects whose member `byteArrayKey` is an array of byte values (0…255), as the
    /// adapter boundary carries request bodies. That member is read straight into bytes (one `JSONValue` per byte
    /// would cost more than the adapter's own work); the other members are parsed as usual, in any order.
    static func parseObjects(_ bytes: [UInt8], byteArrayKey: String) throws(AdapterError) -> [(members: [String: JSONValue], bytes: [UInt8]?)] {
        var parser = JSONParser(bytes: bytes)
        return try parser.parseObjectList(byteArrayKey: byteArrayKey)
    }
}

/// A strict recursive-descent JSON parser over bytes.
struct JSONParser {
    let bytes: [UInt8]
    var i = 0
    var depth = 0
    static let maxDepth = 256
    /// Lone surrogates and invalid UTF-8 in strings read as U+FFFD instead of failing.
    var repairsText = false

    init(bytes: [UInt8]) { self.bytes = bytes }

    func fail(_ what: String) -> AdapterError {
        AdapterError(.malformedPayload, "invalid JSON at byte \(i): \(what)")
    }

    mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    mutating func parseDocument() throws(AdapterError) -> JSONValue {
        skipByteOrderMark()
        let value = try parseValue()
        try expectEnd()
        return value
    }

    mutating func skipByteOrderMark() {
        if i == 0, bytes.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
    }

    /// Only spaces may follow the document's value.
    mutating func expectEnd() throws(AdapterError) {
        skipSpace()
        guard i == bytes.count else { throw fail("unexpected data after the value") }
    }

    mutating func parseValue() throws(AdapterError) -> JSONValue {
        skipSpace()
        guard i < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw fail("unexpected character")
        }
    }

    mutating func literal(_ word: String) throws(AdapterError) {
        let w = Array(word.utf8)
        guard i + w.count <= bytes.count, bytes[i..<(i + w.count)].elementsEqual(w) else { throw fail("bad literal") }
        i += w.count
    }

    mutating func enter() throws(AdapterError) {
        depth += 1
        guard depth <= Self.maxDepth else { throw fail("nested deeper than \(Self.maxDepth) levels") }
    }

    /// `open item (, item)* close` or `open close`; `item` reads one element.
    mutating func parseSequence(
        open: UInt8, close: UInt8, what: String, _ item: (inout JSONParser) throws(AdapterError) -> Void
    ) throws(AdapterError) {
        skipSpace()
        guard i < bytes.count, bytes[i] == open else { throw fail("expected \(what)") }
        i += 1
        skipSpace()
        if i < bytes.count, bytes[i] == close { i += 1; return }
        while true {
            skipSpace()
            try item(&self)
            skipSpace()
            guard i < bytes.count else { throw fail("unterminated \(what)") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == close { i += 1; return }
            throw fail("expected ',' or '\(Character(Unicode.Scalar(close)))'")
        }
    }

    /// An object's members in order; `member` reads the value of each.
    mutating func parseMembers(_ member: (inout JSONParser, String) throws(AdapterError) -> Void) throws(AdapterError) {
        try enter()
        defer { depth -= 1 }
        try parseSequence(open: UInt8(ascii: "{"), close: UInt8(ascii: "}"), what: "object") { p throws(AdapterError) in
            guard p.i < p.bytes.count, p.bytes[p.i] == UInt8(ascii: "\"") else { throw p.fail("expected a member name") }
            let key = try p.parseString()
            p.skipSpace()
            guard p.i < p.bytes.count, p.bytes[p.i] == UInt8(ascii: ":") else { throw p.fail("expected ':'") }
            p.i += 1
            try member(&p, key)
        }
    }

    mutating func parseObject() throws(AdapterError) -> JSONValue {
        var members: [String: JSONValue] = [:]
        try parseMembers { p, key throws(AdapterError) in members[key] = try p.parseValue() }
        return .object(members)
    }

    mutating func parseArray() throws(AdapterError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        var items: [JSONValue] = []
        try parseSequence(open: UInt8(ascii: "["), close: UInt8(ascii: "]"), what: "array") { p throws(AdapterError) in items.append(try p.parseValue()) }
        return .array(items)
    }

    mutating func parseObjectList(byteArrayKey: String) throws(AdapterError) -> [(members: [String: JSONValue], bytes: [UInt8]?)] {
        skipByteOrderMark()
        var list: [(members: [String: JSONValue], bytes: [UInt8]?)] = []
        try parseSequence(open: UInt8(ascii: "["), close: UInt8(ascii: "]"), what: "array") { p throws(AdapterError) in
            var members: [String: JSONValue] = [:]
            var byteArray: [UInt8]?
            try p.parseMembers { p, key throws(AdapterError) in
                if key == byteArrayKey { byteArray = try p.parseByteArray() } else { members[key] = try p.parseValue() }
            }
            list.append((members, byteArray))
        }
        try expectEnd()
        return list
    }

    /// `[n, n, …]` with every `n` an integer 0…255 written without sign, fraction, exponent or leading zero.
    /// One pass over the bytes, written into the result through a pointer: a 1 KiB request body is ~4,000
    /// characters here, on every message's way out.
    mutating func parseByteArray() throws(AdapterError) -> [UInt8] {
        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: "[") else { throw fail("expected array of byte values") }
        let start = i
        var problem: (at: Int, what: String)?
        var end = 0
        let values: [UInt8] = bytes.withUnsafeBufferPointer { b in
            // Reads stop at the first `]`, which is no digit, space or comma; every value but the last takes at
            // least two characters ("7,").
            guard let close = b[(start + 1)...].firstIndex(of: UInt8(ascii: "]")) else {
                problem = (b.count, "unterminated array of byte values")
                return []
            }
            func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 }
            return [UInt8](unsafeUninitializedCapacity: (close - start) / 2 + 1) { out, count in
                var j = start + 1
                while isSpace(b[j]) { j += 1 }
                if j == close { end = close + 1; return }
                while true {
                    let valueStart = j
                    var value = 0
                    while j < close, j - valueStart < 4, b[j] &- 0x30 < 10 {
                        value = value * 10 + Int(b[j] &- 0x30)
                        j += 1
                    }
                    guard j > valueStart, value <= 255, j - valueStart == 1 || b[valueStart] != 0x30 else {
                        problem = (valueStart, "expected a byte value 0…255")
                        return
                    }
                    out[count] = UInt8(value)
                    count += 1
                    while isSpace(b[j]) { j += 1 }
                    if j == close { end = close + 1; return }
                    guard b[j] == UInt8(ascii: ",") else {
                        problem = (j, "expected ',' or ']'")
                        return
                    }
                    j += 1
                    while isSpace(b[j]) { j += 1 }
                }
            }
        }
        if let problem {
            i = problem.at
            throw fail(problem.what)
        }
        i = end
        return values
    }

    /// Where the bytes from `i` that a string holds as they are (no quote, backslash or control byte) end, and
    /// whether they are all ASCII.
    private func plainRun() -> (end: Int, ascii: Bool) {
        bytes.withUnsafeBufferPointer { b in
            var j = i
            var ascii = true
            while j < b.count {
                let c = b[j]
                if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") || c < 0x20 { break }
                ascii = ascii && c < 0x80
                j += 1
            }
            return (j, ascii)
        }
    }

    mutating func parseNumber() throws(AdapterError) -> String {
        let start = i
        func digits(_ p: inout JSONParser) -> Int {
            let s = p.i
            while p.i < p.bytes.count, p.bytes[p.i] >= 0x30, p.bytes[p.i] <= 0x39 { p.i += 1 }
            return p.i - s
        }
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard i < bytes.count else { throw fail("bad number") }
        if bytes[i] == UInt8(ascii: "0") { i += 1 } else if digits(&self) == 0 { throw fail("bad number") }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard digits(&self) > 0 else { throw fail("bad fraction") }
        }
        if i < bytes.count, bytes[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digits(&self) > 0 else { throw fail("bad exponent") }
        }
        return String(decoding: bytes[start..<i], as: UTF8.self)
    }

    mutating func hex4() throws(AdapterError) -> UInt32 {
        guard i + 4 <= bytes.count else { throw fail("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x41...0x46: d = c - 0x41 + 10
            case 0x61...0x66: d = c - 0x61 + 10
            default: throw fail("bad \\u escape")
            }
            v = v << 4 | UInt32(d)
            i += 1
        }
        return v
    }

    mutating func parseString() throws(AdapterError) -> String {
        i += 1
        let start = i
        // Most strings (base64 envelopes, most texts) have no escape: they are made straight from the input, and
        // ASCII needs no UTF-8 validation. Otherwise the loop below goes on from the first escape.
        let run = plainRun()
        i = run.end
        if i < bytes.count, bytes[i] == UInt8(ascii: "\"") {
            i += 1
            let string: String? = bytes.withUnsafeBufferPointer { b in
                let text = UnsafeBufferPointer(rebasing: b[start..<(i - 1)])
                return run.ascii || repairsText ? String(decoding: text, as: UTF8.self) : String(validating: text, as: UTF8.self)
            }
            guard let string else { throw fail("string is not valid UTF-8") }
            return string
        }
        var out: [UInt8] = []
        var runStart = start
        while true {
            guard i < bytes.count else { throw fail("unterminated string") }
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                out.append(contentsOf: bytes[runStart..<i])
                i += 1
                break
            }
            if c < 0x20 { throw fail("control character in a string") }
            if c != UInt8(ascii: "\\") { i += 1; continue }
            out.append(contentsOf: bytes[runStart..<i])
            i += 1
            guard i < bytes.count else { throw fail("unterminated escape") }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar), i + 6 <= bytes.count, bytes[i] == UInt8(ascii: "\\"),
                   bytes[i + 1] == UInt8(ascii: "u") {
                    let afterHigh = i
                    i += 2
                    let low = try hex4()
                    if (0xDC00...0xDFFF).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        i = afterHigh  // when repairing, the next escape is then read on its own
                    }
                }
                if (0xD800...0xDFFF).contains(scalar) {
                    guard repairsText else { throw fail("unpaired surrogate") }
                    scalar = 0xFFFD
                }
                guard let u = Unicode.Scalar(scalar) else { throw fail("bad \\u escape") }
                out.append(contentsOf: String(Character(u)).utf8)
            default: throw fail("bad escape")
            }
            runStart = i
        }
        if repairsText { return String(decoding: out, as: UTF8.self) }
        guard let s = String(validating: out, as: UTF8.self) else { throw fail("string is not valid UTF-8") }
        return s
    }
}
