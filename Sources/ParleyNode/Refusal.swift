import ParleyCore
import ParleyCrypto

/// Why a node refused or gave up on a message. The code is stable and travels to the origin, whose app shows the
/// sender a native "failed" status carrying it.
public struct Refusal: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: String
    public var message: String
    /// Whether trying again later could succeed (the origin keeps the message queued).
    public var retryable: Bool

    public init(_ code: String, _ message: String, retryable: Bool = false) {
        self.code = code
        self.message = message
        self.retryable = retryable
    }

    public var description: String { "\(code): \(message)" }
    public var failure: BridgeEvent.Failure { BridgeEvent.Failure(code: code, message: message) }

    public static func peerDenied(_ peer: String) -> Refusal { Refusal("policy.peer_denied", "messages to or from \(peer) are not allowed by this operator") }
    public static func senderNoConsent(_ user: String) -> Refusal { Refusal("policy.sender_no_consent", "\(user) has not agreed to cross-app messaging") }
    public static func recipientNoConsent(_ user: String) -> Refusal { Refusal("policy.recipient_no_consent", "\(user) has not agreed to cross-app messaging") }
    public static func kindRefused(_ kind: String) -> Refusal { Refusal("policy.kind_refused", "\(kind) events are not accepted by this operator") }
    public static func tooLarge(_ size: Int, limit: Int) -> Refusal { Refusal("policy.too_large", "content of \(size) bytes is over the \(limit)-byte limit") }
    public static func rateLimited(_ peer: String) -> Refusal { Refusal("policy.rate_limited", "too many messages for \(peer); try again later", retryable: true) }
    public static func unknownContact(_ account: String) -> Refusal { Refusal("routing.unknown_contact", "account \(account) does not stand for any remote user") }
    public static func unknownRecipient(_ user: String) -> Refusal { Refusal("routing.unknown_recipient", "no user \(user) on this operator") }
    /// The event names a message this node has not seen (yet: webhooks can arrive out of order).
    public static func unknownTarget(_ what: String) -> Refusal { Refusal(unknownTargetCode, "the \(what) message was not bridged") }
    public static let unknownTargetCode = "routing.unknown_target"
    public static func noRoute(_ domain: String) -> Refusal { Refusal("routing.no_peer", "no configured peer serves \(domain)") }
    /// Any error met while handling a message, as the refusal the origin is told.
    static func from(_ error: any Error) -> Refusal {
        switch error {
        case let refusal as Refusal: return refusal
        case let error as EnvelopeError: return Refusal(error.code.rawValue, error.message)
        case let error as MIMIError: return Refusal("content.malformed", error.message)
        default: return Refusal("node.internal", "\(error)", retryable: true)
        }
    }

    public static func expired() -> Refusal { Refusal("delivery.expired", "the message could not be delivered before it expired") }
}
