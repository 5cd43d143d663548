import Foundation

/// Which app back-end a simulator stands in for.
public enum SimulatorApp: String, Sendable, Codable, CaseIterable {
    case whatsapp
    case messenger
    case instagram

    /// The webhook `object` value the real service sends.
    public var webhookObject: String {
        switch self {
        case .whatsapp: return "whatsapp_business_account"
        case .messenger: return "page"
        case .instagram: return "instagram"
        }
    }

    /// Maximum outbound text size the real send API accepts (WhatsApp counts characters, Messenger and
    /// Instagram UTF-8 bytes, per NOTES.md).
    public var textLimit: Int {
        switch self {
        case .whatsapp: return 4096
        case .messenger: return 2000
        case .instagram: return 1000
        }
    }
}

/// Exponential backoff for webhook retries: `initial`, then ×`multiplier` per attempt, capped at `maximum`.
public struct RetrySchedule: Sendable, Equatable {
    /// Delay after the first failed attempt.
    public var initial: Duration
    /// Growth factor per further failure.
    public var multiplier: Double
    /// Upper bound on one delay.
    public var maximum: Duration

    public init(initial: Duration = .seconds(1), multiplier: Double = 2, maximum: Duration = .seconds(300)) {
        self.initial = initial
        self.multiplier = max(1, multiplier)
        self.maximum = maximum
    }

    /// Delay in milliseconds before the attempt that follows `failures` failed attempts (failures ≥ 1).
    public func delayMilliseconds(afterFailures failures: Int) -> Int64 {
        let initialMs = Double(Self.milliseconds(initial))
        let maxMs = Double(Self.milliseconds(maximum))
        let exponent = Double(max(0, failures - 1))
        let value = initialMs * pow(multiplier, min(exponent, 60))
        return Int64(min(value, maxMs))
    }

    static func milliseconds(_ d: Duration) -> Int64 {
        let (s, atto) = d.components
        return s * 1000 + atto / 1_000_000_000_000_000
    }
}

/// Everything a simulator needs to run.
public struct SimulatorConfig: Sendable {
    /// Which app to simulate.
    public var app: SimulatorApp
    /// Listening host (loopback by default).
    public var host: String
    /// Listening port; 0 picks a free one (read it back from `Simulator.waitUntilListening()`).
    public var port: Int
    /// Directory of the SQLite store (created if missing).
    public var dataDirectory: String
    /// The node's webhook URL the simulator POSTs to (and GETs for the verification handshake).
    public var webhookURL: String
    /// App secret used for `X-Hub-Signature-256`.
    public var appSecret: String
    /// Token the simulator passes as `hub.verify_token` in `verify()`.
    public var verifyToken: String
    /// Bearer token the send API requires.
    public var accessToken: String
    /// How long an update may wait for others to share its webhook POST.
    public var batchWindow: Duration
    /// Most updates in one POST (WhatsApp documents up to 1000).
    public var maxBatch: Int
    /// Backoff between delivery attempts.
    public var retry: RetrySchedule
    /// Per-attempt timeout for webhook POSTs.
    public var webhookTimeout: Duration
    /// Delay between a business send and the user's device reporting it delivered.
    public var deliveryReceiptDelay: Duration
    /// The WhatsApp Business Account id put in `entry[].id`.
    public var whatsappBusinessAccountId: String
    /// Meta-style escaping (`\uXXXX`, `\/`) in webhook bodies.
    public var escapeLikeMeta: Bool

    public init(
        app: SimulatorApp,
        host: String = "127.0.0.1",
        port: Int = 0,
        dataDirectory: String,
        webhookURL: String,
        appSecret: String,
        verifyToken: String = "parley-verify",
        accessToken: String,
        batchWindow: Duration = .milliseconds(50),
        maxBatch: Int = 50,
        retry: RetrySchedule = RetrySchedule(),
        webhookTimeout: Duration = .seconds(10),
        deliveryReceiptDelay: Duration = .milliseconds(100),
        whatsappBusinessAccountId: String = "102290129340398",
        escapeLikeMeta: Bool = true
    ) {
        self.app = app
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.webhookURL = webhookURL
        self.appSecret = appSecret
        self.verifyToken = verifyToken
        self.accessToken = accessToken
        self.batchWindow = batchWindow
        self.maxBatch = max(1, min(maxBatch, 1000))
        self.retry = retry
        self.webhookTimeout = webhookTimeout
        self.deliveryReceiptDelay = deliveryReceiptDelay
        self.whatsappBusinessAccountId = whatsappBusinessAccountId
        self.escapeLikeMeta = escapeLikeMeta
    }
}

/// A simulator error with a stable code and a message a person can act on.
public struct SimulatorError: Error, Sendable, CustomStringConvertible {
    /// Stable machine-readable code (e.g. `unknown_user`, `bad_request`, `store`).
    public let code: String
    /// What went wrong and what to do.
    public let message: String
    /// HTTP status the scripting API answers with.
    public let httpStatus: Int

    public init(code: String, message: String, httpStatus: Int = 400) {
        self.code = code
        self.message = message
        self.httpStatus = httpStatus
    }

    public var description: String { "\(code): \(message)" }
}
