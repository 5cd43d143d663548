import Foundation

/// Builds an ordered JSON object, dropping members whose value is nil.
func obj(_ members: (String, JSONValue?)...) -> JSONValue {
    .object(members.compactMap { key, value in value.map { (key, $0) } })
}

func str(_ s: String?) -> JSONValue? { s.map(JSONValue.string) }

/// Random native identifiers in the shapes the real services use.
enum NativeIDs {
    static func randomBytes(_ n: Int) -> [UInt8] {
        var g = SystemRandomNumberGenerator()
        return (0..<n).map { _ in UInt8.random(in: 0...255, using: &g) }
    }

    /// `wamid.` + standard base64 (contains `+`, `/`, `=` like real wamids).
    static func wamid() -> String { "wamid." + Data(randomBytes(34)).base64EncodedString() }

    /// Messenger `m_…` mid.
    static func messengerMid() -> String {
        "m_" + Data(randomBytes(48)).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Instagram mid: long base64-like text starting like real ones (≈170 characters).
    static func instagramMid() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        let tail = randomBytes(128).map { String(alphabet[Int($0) % alphabet.count]) }.joined()
        return "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQx" + tail
    }

    static func mid(for app: SimulatorApp) -> String {
        switch app {
        case .whatsapp: return wamid()
        case .messenger: return messengerMid()
        case .instagram: return instagramMid()
        }
    }

    /// Numeric media id like WhatsApp's.
    static func mediaId() -> String { String(UInt64.random(in: 1_000_000_000_000_000...9_999_999_999_999_999)) }

    /// `fbtrace_id`: 11 url-safe characters.
    static func fbtrace() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
        return String(randomBytes(11).map { alphabet[Int($0) % alphabet.count] })
    }
}

/// A Graph API error answer: `{"error":{"message","type","code",…,"fbtrace_id"}}`.
struct GraphError: Error {
    var httpStatus: Int
    var body: JSONValue
    var retryAfterSeconds: Int? = nil

    init(httpStatus: Int = 400, message: String, type: String = "OAuthException", code: Int, subcode: Int? = nil,
         errorData: JSONValue? = nil, isTransient: Bool? = nil) {
        self.httpStatus = httpStatus
        self.body = obj(("error", obj(
            ("message", .string(message)),
            ("type", .string(type)),
            ("code", .int(Int64(code))),
            ("error_subcode", subcode.map { .int(Int64($0)) }),
            ("is_transient", isTransient.map(JSONValue.bool)),
            ("error_data", errorData),
            ("fbtrace_id", .string(NativeIDs.fbtrace())))))
    }

    static func missingToken() -> GraphError {
        GraphError(httpStatus: 401, message: "An active access token must be used to query information about the current user.", code: 2500)
    }

    static func invalidToken() -> GraphError {
        GraphError(httpStatus: 401, message: "Invalid OAuth access token - Cannot parse access token", code: 190)
    }

    /// WhatsApp `(#100) …` with `error_data.details` the way the Cloud API words parameter errors.
    static func whatsappParam(_ message: String, details: String? = nil) -> GraphError {
        GraphError(message: message, code: 100,
                   errorData: obj(("messaging_product", "whatsapp"), ("details", str(details ?? message))))
    }

    static func param(_ message: String, subcode: Int? = nil) -> GraphError {
        GraphError(message: message, code: 100, subcode: subcode)
    }

    static func serverError() -> GraphError {
        GraphError(httpStatus: 500, message: "An unexpected error has occurred. Please retry your request later.",
                   code: 2, isTransient: true)
    }

    static func rateLimited(app: SimulatorApp, retryAfter: Int) -> GraphError {
        var e: GraphError
        switch app {
        case .whatsapp:
            e = GraphError(httpStatus: 429, message: "(#130429) Rate limit hit", code: 130429,
                           errorData: obj(("messaging_product", "whatsapp"), ("details", "Cloud API message throughput has been reached.")))
        case .messenger, .instagram:
            e = GraphError(httpStatus: 429, message: "(#613) Calls to this api have exceeded the rate limit.", code: 613)
        }
        e.retryAfterSeconds = retryAfter
        return e
    }
}

/// Reaction names Messenger / Instagram put next to the emoji.
enum ReactionNames {
    static func name(for emoji: String, app: SimulatorApp) -> String {
        switch emoji {
        case "❤️", "❤", "😍": return "love"
        case "👍": return "like"
        case "😆", "😂", "😄": return app == .instagram ? "laugh" : "smile"
        case "😮", "😯": return "wow"
        case "😢", "😭": return "sad"
        case "😠", "😡": return "angry"
        case "👎": return app == .instagram ? "other" : "dislike"
        default: return "other"
        }
    }

    /// Emoji for a reaction name sent through the Instagram/Messenger send API (`"reaction":"love"`).
    static func emoji(forName name: String) -> String {
        switch name {
        case "love": return "❤️"
        case "like": return "👍"
        case "laugh", "smile": return "😆"
        case "wow": return "😮"
        case "sad": return "😢"
        case "angry": return "😠"
        case "dislike": return "👎"
        default: return name
        }
    }
}

enum MediaTypes {
    static func mime(forURL url: String, kind: String) -> String {
        let ext = (url.split(separator: "?").first.map(String.init) ?? url).split(separator: ".").last.map { $0.lowercased() } ?? ""
        switch ext {
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "webp": return "image/webp"
        case "mp4": return "video/mp4"
        case "ogg", "opus": return "audio/ogg"
        case "mp3": return "audio/mpeg"
        case "pdf": return "application/pdf"
        default:
            switch kind {
            case "image": return "image/jpeg"
            case "video": return "video/mp4"
            case "audio": return "audio/ogg"
            default: return "application/octet-stream"
            }
        }
    }

    static func isHTTPURL(_ s: String) -> Bool {
        guard let url = URL(string: s), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty else { return false }
        return true
    }
}
