import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import ParleyCrypto
import ParleyHarness
import Testing

/// Where the built `parley` binary and the demo templates are, for suites that run real processes.
enum E2E {
    static var repository: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    /// `parley` sits next to the test bundle in the build products directory (`swift build` builds it first).
    static var executable: String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = bundle.deletingLastPathComponent()
        if directory.path.hasSuffix(".xctest/Contents/MacOS") { directory = directory.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }
        return directory.appendingPathComponent("parley").path
    }

    /// A fresh federation in a temporary directory; always stopped, even when the body throws.
    static func withFederation<T: Sendable>(
        extraUsers: Int = 0, captureFederation: Bool = false, start: Bool = true, logLevel: String = "notice",
        limits: [String: String] = [:], _ body: (Federation) async throws -> T
    ) async throws -> T {
        try #require(FileManager.default.isExecutableFile(atPath: executable), "build parley first (`swift build`): \(executable)")
        let work = NSTemporaryDirectory() + "parley-e2e-\(UUID().uuidString.prefix(8))"
        let federation = try Federation(
            executable: executable, configDirectory: repository + "/Config/demo", workDirectory: work,
            logLevel: logLevel, extraUsers: extraUsers, captureFederation: captureFederation, limits: limits)
        do {
            if start { try await federation.start() }
            let result = try await body(federation)
            await federation.stop()
            try? FileManager.default.removeItem(atPath: work)
            return result
        } catch {
            await federation.stop()
            // Logs stay in `work` for a failing test.
            Issue.record("federation logs kept in \(work)")
            throw error
        }
    }

    /// What the node of `app` has logged so far.
    static func nodeLog(_ federation: Federation, _ app: String) -> String {
        (try? String(contentsOfFile: "\(federation.dataDirectory)/\(app)/node.log", encoding: .utf8)) ?? ""
    }

    /// The texts in the inbox of `app`'s scripted user, oldest first.
    static func inboxTexts(_ federation: Federation, _ app: String) async throws -> [String] {
        try await federation.sim(app).mailbox(of: federation.op(app).user).inbox.compactMap(\.text)
    }

    /// Signs and sends a raw federation request as the node of `app` (the test reads that node's key file).
    static func signedPUT(_ federation: Federation, as app: String, origin: String? = nil, to target: String, path: String, body: [UInt8], key: NodeSigningKey? = nil) async throws -> (status: Int, body: String) {
        let signingKey = try key ?? NodeSigningKey(contentsOfFile: "\(federation.dataDirectory)/\(app)/node/node.key")
        let originDomain = origin ?? federation.op(app).domain
        let header = FederationSignature.authorizationHeader(
            method: "PUT", path: path, origin: originDomain, destination: federation.op(target).domain,
            timestamp: Int64(Date().timeIntervalSince1970), body: body, key: signingKey)
        var request = URLRequest(url: URL(string: federation.nodeURL(target) + path)!)
        request.httpMethod = "PUT"
        request.setValue(header, forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(body)
        return try await http(request)
    }

    static func http(_ request: URLRequest) async throws -> (status: Int, body: String) {
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }
}
