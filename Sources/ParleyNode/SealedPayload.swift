import ParleyCore

/// What travels inside an envelope: MIMI content, or a Parley receipt about a message (next to the content, as
/// DESIGN.md says). Binary form: one type byte, then the body.
enum SealedPayload: Sendable, Hashable {
    /// MIMI content bytes exactly as the origin encoded them (the message id hashes these bytes).
    case content([UInt8])
    /// The fate of message `messageId` at the destination: delivered, read or failed (with the reason).
    case receipt(messageId: MessageId, status: BridgeEvent.Status, failure: BridgeEvent.Failure?)

    static let contentType: UInt8 = 1
    static let receiptType: UInt8 = 2

    func encoded() -> [UInt8] {
        switch self {
        case .content(let bytes):
            return [Self.contentType] + bytes
        case .receipt(let id, let status, let failure):
            var out: [UInt8] = [Self.receiptType]
            out += id.bytes
            appendString(status.rawValue, to: &out)
            appendString(failure?.code ?? "", to: &out)
            appendString(failure?.message ?? "", to: &out)
            return out
        }
    }

    init(decoding bytes: [UInt8]) throws(Refusal) {
        guard let type = bytes.first else { throw Self.malformed("empty payload") }
        switch type {
        case Self.contentType:
            self = .content(Array(bytes.dropFirst()))
        case Self.receiptType:
            var cursor = 1
            guard bytes.count >= cursor + MessageId.length, let id = MessageId(bytes: Array(bytes[cursor..<cursor + MessageId.length])) else {
                throw Self.malformed("receipt without a message id")
            }
            cursor += MessageId.length
            let statusText = try Self.readString(bytes, &cursor)
            let code = try Self.readString(bytes, &cursor)
            let message = try Self.readString(bytes, &cursor)
            guard cursor == bytes.count else { throw Self.malformed("trailing bytes after receipt") }
            guard let status = BridgeEvent.Status(rawValue: statusText) else { throw Self.malformed("unknown receipt status \(statusText)") }
            self = .receipt(messageId: id, status: status, failure: code.isEmpty ? nil : BridgeEvent.Failure(code: code, message: message))
        default:
            throw Self.malformed("unknown payload type \(type)")
        }
    }

    private static func malformed(_ why: String) -> Refusal { Refusal("envelope.malformed_payload", why) }

    private func appendString(_ s: String, to out: inout [UInt8]) {
        let utf8 = Array(s.utf8.prefix(Int(UInt16.max)))
        out.append(UInt8(utf8.count >> 8))
        out.append(UInt8(utf8.count & 0xFF))
        out += utf8
    }

    private static func readString(_ bytes: [UInt8], _ cursor: inout Int) throws(Refusal) -> String {
        guard bytes.count >= cursor + 2 else { throw malformed("truncated receipt") }
        let length = Int(bytes[cursor]) << 8 | Int(bytes[cursor + 1])
        cursor += 2
        guard bytes.count >= cursor + length, let s = String(validating: bytes[cursor..<cursor + length], as: UTF8.self) else {
            throw malformed("truncated receipt")
        }
        cursor += length
        return s
    }
}
