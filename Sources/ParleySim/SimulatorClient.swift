import AsyncHTTPClient
import Foundation
import NIOCore

/// Client for a simulator's scripting API (`/sim/…`) and, for convenience, its native send API.
public struct SimulatorClient: Sendable {
    /// e.g. `http://127.0.0.1:8081`
    public let baseURL: String
    private let client: HTTPClient

    public init(baseURL: String, httpClient: HTTPClient = .shared) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.client = httpClient
    }

    /// A raw HTTP answer.
    public struct RawResponse: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]
        /// The body parsed as JSON, if it is JSON.
        public var json: JSONValue? { JSONValue.parse(body) }
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// Sends any request to the simulator.
    public func raw(_ method: String, _ path: String, body: [UInt8]? = nil, headers: [String: String] = [:],
                    timeout: Duration = .seconds(30)) async throws -> RawResponse {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .init(rawValue: method)
        for (k, v) in headers { request.headers.add(name: k, value: v) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await client.execute(request, timeout: .milliseconds(RetrySchedule.milliseconds(timeout)))
        let buffer = try await response.body.collect(upTo: 16 << 20)
        return RawResponse(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                           body: Array(buffer.readableBytesView))
    }

    /// Calls the native send API: `POST /{account}/messages` with a Bearer token.
    public func sendNative(account: String, body: JSONValue, accessToken: String?, version: String? = nil) async throws -> RawResponse {
        var headers: [String: String] = [:]
        if let accessToken { headers["Authorization"] = "Bearer \(accessToken)" }
        let path = (version.map { "/\($0)" } ?? "") + "/\(account)/messages"
        return try await raw("POST", path, body: body.serialized(escapeLikeMeta: false), headers: headers)
    }

    private func call<T: Decodable>(_ method: String, _ path: String, _ body: [String: String?]? = nil, as: T.Type) async throws -> T {
        var bytes: [UInt8]?
        if let body {
            bytes = JSONValue.object(body.sorted { $0.key < $1.key }.compactMap { k, v in v.map { (k, .string($0)) } }).serialized(escapeLikeMeta: false)
        }
        let r = try await raw(method, path, body: bytes)
        guard (200..<300).contains(r.status) else {
            throw SimulatorError(code: r.json?["error"]?["code"]?.string ?? "http_\(r.status)",
                                 message: r.json?["error"]?["message"]?.string ?? r.text, httpStatus: r.status)
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(r.body))
        } catch {
            throw SimulatorError(code: "bad_answer", message: "unexpected answer from \(path): \(r.text)", httpStatus: 502)
        }
    }

    private struct Ok: Decodable {}
    private struct Verified: Decodable { var ok: Bool }

    private static func seg(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? s
    }

    /// Creates (or renames) a user.
    @discardableResult
    public func createUser(_ id: String, name: String? = nil) async throws -> SimUser {
        try await call("POST", "/sim/users", ["id": id, "name": name], as: SimUser.self)
    }

    /// All users.
    public func users() async throws -> [SimUser] { try await call("GET", "/sim/users", as: [SimUser].self) }

    /// Creates a WhatsApp group.
    public func createGroup(_ id: String, members: [String]) async throws {
        let body = JSONValue.object([("id", .string(id)), ("members", .array(members.map(JSONValue.string)))]).serialized(escapeLikeMeta: false)
        let r = try await raw("POST", "/sim/groups", body: body)
        guard r.status == 201 else { throw SimulatorError(code: "http_\(r.status)", message: r.text, httpStatus: r.status) }
    }

    /// The user sends text (optionally as a reply) to a business account.
    @discardableResult
    public func send(from user: String, to account: String, text: String, replyTo: String? = nil, group: String? = nil) async throws -> SimActionResult {
        try await call("POST", "/sim/users/\(Self.seg(user))/send", ["to": account, "text": text, "replyTo": replyTo, "group": group], as: SimActionResult.self)
    }

    /// The user sends media by link (`kind`: image, video, audio, document / file).
    @discardableResult
    public func sendMedia(from user: String, to account: String, url: String, kind: String = "image", caption: String? = nil) async throws -> SimActionResult {
        try await call("POST", "/sim/users/\(Self.seg(user))/send", ["to": account, "url": url, "kind": kind, "caption": caption], as: SimActionResult.self)
    }

    @discardableResult
    public func react(from user: String, to account: String, messageId: String, emoji: String) async throws -> SimActionResult {
        try await call("POST", "/sim/users/\(Self.seg(user))/react", ["to": account, "messageId": messageId, "emoji": emoji], as: SimActionResult.self)
    }

    @discardableResult
    public func unreact(from user: String, to account: String, messageId: String) async throws -> SimActionResult {
        try await call("POST", "/sim/users/\(Self.seg(user))/unreact", ["to": account, "messageId": messageId], as: SimActionResult.self)
    }

    @discardableResult
    public func edit(by user: String, messageId: String, text: String) async throws -> SimActionResult {
        try await call("POST", "/sim/users/\(Self.seg(user))/edit", ["messageId": messageId, "text": text], as: SimActionResult.self)
    }

    @discardableResult
    public func delete(by user: String, messageId: String) async throws -> SimActionResult {
        try await call("POST", "/sim/users/\(Self.seg(user))/delete", ["messageId": messageId], as: SimActionResult.self)
    }

    /// The user reads what `account` sent them (up to `upTo`, or all).
    @discardableResult
    public func read(by user: String, from account: String, upTo: String? = nil) async throws -> SimActionResult {
        try await call("POST", "/sim/users/\(Self.seg(user))/read", ["from": account, "upTo": upTo], as: SimActionResult.self)
    }

    /// What the business sent the user, and the user's own messages with their statuses.
    public func mailbox(of user: String) async throws -> SimMailbox {
        try await call("GET", "/sim/users/\(Self.seg(user))/messages", as: SimMailbox.self)
    }

    /// All webhook deliveries, oldest first.
    public func deliveries() async throws -> [SimWebhookDelivery] { try await call("GET", "/sim/deliveries", as: [SimWebhookDelivery].self) }

    /// Batch pending updates now.
    public func flush() async throws { _ = try await raw("POST", "/sim/flush") }

    /// Arms a fault (`down` closes the listener for `delayMs`).
    public func setFault(_ fault: SimFault) async throws {
        let body = try JSONEncoder().encode(fault)
        let r = try await raw("POST", "/sim/faults", body: Array(body))
        guard r.status == 200 else { throw SimulatorError(code: "http_\(r.status)", message: r.text, httpStatus: r.status) }
    }

    /// Clears all faults.
    public func clearFaults() async throws { _ = try await raw("DELETE", "/sim/faults") }

    /// Runs the node's GET verification handshake from the simulator.
    public func verifyWebhook() async throws -> Bool { try await call("POST", "/sim/verify", as: Verified.self).ok }
}
