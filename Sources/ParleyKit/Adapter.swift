@_exported import ParleyCore

/// A codec for one app's native message format: the thing an adapter author writes.
///
/// An adapter is pure: no I/O, no keys, no clocks, no state between calls. The host gives it bytes and
/// takes events (``decode(_:)``), gives it an event already mapped to the app's native ids and takes the
/// native HTTP requests that express it (``encode(_:)``), and asks it to read the app's answer to a send
/// (``decodeSendResponse(status:body:)``).
public protocol Adapter: Sendable {
    /// A short unique name, e.g. `"whatsapp"`; how configs and `parley translate --adapter` refer to it.
    var name: String { get }
    /// What the app can express; the host applies fallbacks for the rest.
    var capabilities: AdapterCapabilities { get }
    /// Native webhook body → the events it carries, in the order the app gave them.
    func decode(_ payload: [UInt8]) throws(AdapterError) -> [BridgeEvent]
    /// An outbound event (native ids already filled in by the host) → the native requests that send it.
    func encode(_ event: BridgeEvent) throws(AdapterError) -> [NativeRequest]
    /// The app's answer to one of the requests ``encode(_:)`` built → the native id it assigned, or why it failed.
    func decodeSendResponse(status: Int, body: [UInt8]) throws(AdapterError) -> SendOutcome
}

/// One HTTP request to the app's native API, relative to the tenant's configured API base URL.
public struct NativeRequest: Sendable, Hashable, Codable {
    public var method: String
    /// Path and query, e.g. `/106540352242922/messages`.
    public var path: String
    public var contentType: String
    public var body: [UInt8]

    public init(method: String = "POST", path: String, contentType: String = "application/json", body: [UInt8]) {
        self.method = method
        self.path = path
        self.contentType = contentType
        self.body = body
    }
}

/// What a native send API answered.
public enum SendOutcome: Sendable, Hashable, Codable {
    /// Accepted; `nativeId` is the id the app gave the new message (`nil` for actions such as mark-read).
    case accepted(nativeId: String?)
    /// Refused for good (bad recipient, text too long…): retrying will not help.
    case rejected(BridgeEvent.Failure)
    /// Refused for now (5xx, 429, throttling): retry later.
    case retryable(BridgeEvent.Failure)
}

/// How a limit on text is counted.
public enum TextLimitUnit: String, Sendable, Hashable, Codable {
    case characters
    case utf8Bytes
}

/// What an app can express, declared by its adapter.
public struct AdapterCapabilities: Sendable, Hashable, Codable {
    /// Kinds ``Adapter/decode(_:)`` can produce.
    public var inboundKinds: Set<BridgeEvent.Kind>
    /// Kinds ``Adapter/encode(_:)`` accepts; the host applies ``Fallback``s for the others.
    public var outboundKinds: Set<BridgeEvent.Kind>
    /// Longest text one native message may carry.
    public var maxTextLength: Int
    public var textLimitUnit: TextLimitUnit
    /// Attachment kinds that can be sent by link (`image`, `video`, …).
    public var mediaKinds: Set<String>
    public var groups: Bool
    public var reactions: Bool
    public var edits: Bool
    public var deletes: Bool
    /// Receipt statuses the app reports and accepts.
    public var receipts: Set<BridgeEvent.Status>

    public init(
        inboundKinds: Set<BridgeEvent.Kind>, outboundKinds: Set<BridgeEvent.Kind>, maxTextLength: Int,
        textLimitUnit: TextLimitUnit = .characters, mediaKinds: Set<String>, groups: Bool, reactions: Bool,
        edits: Bool, deletes: Bool, receipts: Set<BridgeEvent.Status>
    ) {
        self.inboundKinds = inboundKinds
        self.outboundKinds = outboundKinds
        self.maxTextLength = maxTextLength
        self.textLimitUnit = textLimitUnit
        self.mediaKinds = mediaKinds
        self.groups = groups
        self.reactions = reactions
        self.edits = edits
        self.deletes = deletes
        self.receipts = receipts
    }
}

/// An adapter's refusal of its input, with a stable code.
public struct AdapterError: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    public struct Code: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The bytes are not the JSON (or format) the app sends.
        public static let malformedPayload = Code(rawValue: "adapter.malformed_payload")
        /// Well-formed, but a required field is missing or has the wrong type.
        public static let missingField = Code(rawValue: "adapter.missing_field")
        /// The event kind cannot be expressed by this app (the host should have applied a fallback).
        public static let unsupportedEvent = Code(rawValue: "adapter.unsupported_event")
        /// The event is expressible but violates an app limit (text too long, bad media kind).
        public static let limitExceeded = Code(rawValue: "adapter.limit_exceeded")
        /// The send response could not be understood.
        public static let badResponse = Code(rawValue: "adapter.bad_response")
        /// The adapter failed inside (a bug, a crash in a child process, a timeout).
        public static let internalFailure = Code(rawValue: "adapter.internal")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
