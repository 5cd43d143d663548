import Foundation

/// One message of the child-process protocol (see docs/ABI.md):
///
/// ```
/// u32 big-endian  length of the rest of the frame (5 + body length)
/// u32 big-endian  request id (a reply repeats the id of its request)
/// u8              operation
/// ...             body
/// ```
struct ChildFrame: Sendable, Hashable {
    enum Op: UInt8, Sendable {
        case hello = 0x01
        case decode = 0x02
        case encode = 0x03
        case decodeSendResponse = 0x04
        case ok = 0x80
        case error = 0x81
    }

    /// Frames larger than this are refused: the peer is broken or hostile.
    static let maxLength = 64 << 20
    static let headerSize = 9

    var id: UInt32
    var op: UInt8
    var body: [UInt8]

    init(id: UInt32, op: Op, body: [UInt8]) {
        self.id = id
        self.op = op.rawValue
        self.body = body
    }

    init(id: UInt32, rawOp: UInt8, body: [UInt8]) {
        self.id = id
        self.op = rawOp
        self.body = body
    }

    var encoded: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.headerSize + body.count)
        out.appendBigEndian(UInt32(5 + body.count))
        out.appendBigEndian(id)
        out.append(op)
        out.append(contentsOf: body)
        return out
    }

    /// The length announced by the first four bytes of a frame (the rest of the frame, ≥ 5).
    static func announcedLength(_ prefix: [UInt8]) -> Int {
        Int(UInt32(bigEndian: prefix, at: 0))
    }

    /// Parses the bytes after the length prefix.
    static func parse(rest: [UInt8]) -> ChildFrame? {
        guard rest.count >= 5 else { return nil }
        return ChildFrame(id: UInt32(bigEndian: rest, at: 0), rawOp: rest[4], body: Array(rest[5...]))
    }
}

extension Array where Element == UInt8 {
    mutating func appendBigEndian(_ value: UInt32) {
        append(UInt8(truncatingIfNeeded: value >> 24))
        append(UInt8(truncatingIfNeeded: value >> 16))
        append(UInt8(truncatingIfNeeded: value >> 8))
        append(UInt8(truncatingIfNeeded: value))
    }
}

extension UInt32 {
    init(bigEndian bytes: [UInt8], at offset: Int) {
        self = UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16
            | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }
}

/// The version a child speaks after a hello whose body is `body`: the host's (its newest) when the child speaks it,
/// otherwise the child's newest (a host that cannot speak it refuses). A hello without a readable version came from
/// a host that predates negotiation: version 1.
func childABIVersion(forHello body: [UInt8]) -> UInt32 {
    guard body.count == 4 else { return parleyOldestABIVersion }
    let host = UInt32(bigEndian: body, at: 0)
    return parleyABIVersions.contains(host) ? host : parleyABIVersion
}

/// The answer a child adapter gives to one request frame; shared by ``runChildAdapter(_:)`` and the tests.
/// `abiVersion`: the version negotiated by the hello (a hello answers with the version its own body asks for).
func childReply(to frame: ChildFrame, adapter: some Adapter, abiVersion: UInt32 = parleyABIVersion) -> ChildFrame {
    func reply<T: Encodable>(
        encoded: (T) throws(AdapterError) -> [UInt8] = { (value: T) throws(AdapterError) in try ABICoding.encode(value) },
        _ body: () throws(AdapterError) -> T
    ) -> ChildFrame {
        do {
            return ChildFrame(id: frame.id, op: .ok, body: try encoded(try body()))
        } catch {
            let bytes = (try? ABICoding.encode(error)) ?? Array(#"{"code":"adapter.internal","message":"unencodable error"}"#.utf8)
            return ChildFrame(id: frame.id, op: .error, body: bytes)
        }
    }
    switch ChildFrame.Op(rawValue: frame.op) {
    case .hello:
        let version = childABIVersion(forHello: frame.body)
        return reply { AdapterHello(abiVersion: version, name: adapter.name, capabilities: adapter.capabilities) }
    case .decode:
        return reply { () throws(AdapterError) in try adapter.decode(frame.body) }
    case .encode:
        return reply(encoded: { ABICoding.encodeRequests($0, abiVersion: abiVersion) }) { () throws(AdapterError) in
            try adapter.encode(try ABICoding.decodeEvent(frame.body))
        }
    case .decodeSendResponse:
        return reply { () throws(AdapterError) -> SendOutcome in
            guard frame.body.count >= 4 else {
                throw AdapterError(.malformedPayload, "decode_send_response frame lacks its 4-byte status")
            }
            let status = Int32(bitPattern: UInt32(bigEndian: frame.body, at: 0))
            return try adapter.decodeSendResponse(status: Int(status), body: Array(frame.body[4...]))
        }
    default:
        return reply { () throws(AdapterError) -> [String] in
            throw AdapterError(.internalFailure, "unknown operation 0x\(String(frame.op, radix: 16)) in a request frame")
        }
    }
}

/// Serves `adapter` over stdin/stdout with the child-process protocol, until the host closes stdin.
///
/// Call it from the `main.swift` of an adapter executable:
/// ```swift
/// import ParleyKit
/// ParleyKit.runChildAdapter(MyAdapter())
/// ```
/// Frames go to a private copy of the original stdout; fd 1 is pointed at stderr so a stray `print` cannot
/// corrupt the stream.
public func runChildAdapter(_ adapter: some Adapter) -> Never {
    signal(SIGPIPE, SIG_IGN)
    let input: Int32 = 0
    let output = dup(1)
    guard output >= 0 else {
        FileHandle.standardError.write(Data("parley child adapter: cannot duplicate stdout\n".utf8))
        exit(70)
    }
    _ = fcntl(output, F_SETFD, FD_CLOEXEC)
    _ = dup2(2, 1)
    var abiVersion = parleyOldestABIVersion
    while true {
        var prefix = [UInt8](repeating: 0, count: 4)
        guard readFully(input, &prefix) else { exit(0) }
        let length = ChildFrame.announcedLength(prefix)
        guard length >= 5, length <= ChildFrame.maxLength else {
            FileHandle.standardError.write(Data("parley child adapter: bad frame length \(length)\n".utf8))
            exit(65)
        }
        var rest = [UInt8](repeating: 0, count: length)
        guard readFully(input, &rest), let frame = ChildFrame.parse(rest: rest) else { exit(0) }
        if frame.op == ChildFrame.Op.hello.rawValue { abiVersion = childABIVersion(forHello: frame.body) }
        let answer = childReply(to: frame, adapter: adapter, abiVersion: abiVersion).encoded
        guard writeFully(output, answer) else { exit(0) }
    }
}

/// Blocking read of exactly `buffer.count` bytes; false on end of file or error.
private func readFully(_ fd: Int32, _ buffer: inout [UInt8]) -> Bool {
    var done = 0
    let total = buffer.count
    while done < total {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, total - done) }
        if n > 0 { done += n } else if n < 0 && errno == EINTR { continue } else { return false }
    }
    return true
}

private func writeFully(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, bytes.count - done) }
        if n > 0 { done += n } else if n < 0 && errno == EINTR { continue } else { return false }
    }
    return true
}
