import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ParleyCrypto
import ParleySim

/// One operator of a test or demo federation: an app simulator, its bridge node, and the app's local user.
public struct Operator: Sendable {
    /// `whatsapp`, `messenger` or `instagram`: the app, the adapter and the config template name.
    public let app: String
    public let domain: String
    public let tenant: String
    /// The app's own user in the scripted conversation.
    public let user: String
    public let userName: String
    /// Business accounts in this app that stand for the other operators' users: other app → account id.
    public let accounts: [String: String]

    /// The three operators of `Config/demo/`.
    public static let demo: [Operator] = [
        Operator(app: "whatsapp", domain: "whatsapp.demo", tenant: "wa", user: "15551230001", userName: "Alice",
                 accounts: ["messenger": "100000000000011", "instagram": "100000000000012"]),
        Operator(app: "messenger", domain: "messenger.demo", tenant: "fb", user: "2400000000000001", userName: "Bob",
                 accounts: ["whatsapp": "200000000000021", "instagram": "200000000000022"]),
        Operator(app: "instagram", domain: "instagram.demo", tenant: "ig", user: "1784000000000001", userName: "Carol",
                 accounts: ["whatsapp": "178400000000031", "messenger": "178400000000032"]),
    ]
}

/// A federation of real processes on loopback: per operator a `parley sim` and a `parley serve`, on free ports,
/// from the templates in `Config/demo/`. Everything it starts, ``stop()`` stops (and `ManagedProcess` kills on
/// release as a last resort).
public final class Federation: Sendable {
    public static let appSecret = "demo-app-secret"
    public static let accessToken = "demo-access-token"

    public let executable: String
    public let configDirectory: String
    public let workDirectory: String
    public let operators: [Operator]
    public let http: HTTPClient
    let nodePorts: [String: Int]
    let simPorts: [String: Int]
    let nodeProcesses: [String: ManagedProcess]
    public let extraUsers: Int
    /// Federation traffic into each app's node passes through its proxy (when capturing).
    public let proxies: [String: CapturingProxy]
    let simProcesses: [String: ManagedProcess]
    public let nodeKeys: [String: String]

    /// Prepares configs, keys and ports; nothing runs until ``start()``.
    /// - Parameters:
    ///   - executable: the `parley` binary to run.
    ///   - configDirectory: where the `<app>.toml` templates are (the repository's `Config/demo`).
    ///   - workDirectory: a fresh directory for data, configs and logs.
    /// - Parameters:
    ///   - extraUsers: more users per app (besides the scripted one), each with a contact in every other app, for
    ///     tests that need many conversations. The contacts of users 1–7 are written in the configs, the rest are
    ///     loaded into the nodes' stores by ``importContacts()`` (`parley contacts import`), as an operator would.
    ///   - captureFederation: route node-to-node traffic through ``CapturingProxy``s that keep every body.
    ///   - limits: `[limits]` keys to set in every node's config (TOML values, e.g. `["max_queue_per_peer": "3"]`).
    ///   - policy: `[tenants.policy]` keys to set in every node's config (e.g. `["max_text_bytes": "16384"]`).
    public init(executable: String, configDirectory: String, workDirectory: String, operators: [Operator] = Operator.demo,
                logLevel: String = "info", extraUsers: Int = 0, captureFederation: Bool = false, limits: [String: String] = [:],
                policy: [String: String] = [:], http: HTTPClient = .shared) throws {
        self.extraUsers = extraUsers
        self.executable = executable
        self.configDirectory = configDirectory
        self.workDirectory = workDirectory
        self.operators = operators
        self.http = http
        var nodePorts: [String: Int] = [:], simPorts: [String: Int] = [:], keys: [String: String] = [:]
        var used = Set<Int>()
        func port() throws -> Int {
            var candidate = try FreePort.next()
            while used.contains(candidate) { candidate = try FreePort.next() }
            used.insert(candidate)
            return candidate
        }
        let fm = FileManager.default
        try fm.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
        for op in operators {
            nodePorts[op.app] = try port()
            simPorts[op.app] = try port()
            let dataDir = "\(workDirectory)/\(op.app)/node"
            try fm.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
            try fm.createDirectory(atPath: "\(workDirectory)/\(op.app)/sim", withIntermediateDirectories: true)
            let keyFile = "\(dataDir)/node.key"
            let key = fm.fileExists(atPath: keyFile) ? try NodeSigningKey(contentsOfFile: keyFile) : NodeSigningKey.generate()
            if !fm.fileExists(atPath: keyFile) { try key.write(toFile: keyFile) }
            keys[op.app] = key.publicKey.base64
        }
        var proxies: [String: CapturingProxy] = [:]
        if captureFederation {
            for op in operators {
                proxies[op.app] = CapturingProxy(port: try port(), target: "http://127.0.0.1:\(nodePorts[op.app]!)", http: http)
            }
        }
        self.proxies = proxies
        self.nodePorts = nodePorts
        self.simPorts = simPorts
        self.nodeKeys = keys
        var nodes: [String: ManagedProcess] = [:], sims: [String: ManagedProcess] = [:]
        for op in operators {
            let template = try String(contentsOfFile: "\(configDirectory)/\(op.app).toml", encoding: .utf8)
            let peers = operators.filter { $0.app != op.app }
            var values = [
                "NODE_PORT": String(nodePorts[op.app]!), "SIM_PORT": String(simPorts[op.app]!),
                "DATA_DIR": "\(workDirectory)/\(op.app)/node", "LOG_LEVEL": logLevel,
            ]
            for (index, peer) in peers.enumerated() {
                values["PEER\(index + 1)_PORT"] = String(proxies[peer.app]?.port ?? nodePorts[peer.app]!)
                values["PEER\(index + 1)_KEY"] = keys[peer.app]!
            }
            var text = template
            for (key, value) in values { text = text.replacingOccurrences(of: "${\(key)}", with: value) }
            text = try Self.setting(limits, inTable: "limits", of: text, file: "\(configDirectory)/\(op.app).toml")
            text = try Self.setting(policy, inTable: "tenants.policy", of: text, file: "\(configDirectory)/\(op.app).toml")
            var stored = ""
            for remote in peers where extraUsers > 0 {
                for k in 1...extraUsers {
                    let account = Self.account(in: op, for: remote, k), remoteURI = "mimi://\(remote.domain)/u/\(Self.user(remote, k))"
                    if k < Self.configuredContacts {
                        text += "\n[[tenants.contacts]]\naccount = \"\(account)\"\nremote = \"\(remoteURI)\"\n"
                    } else {
                        stored += "\(account) \(remoteURI)\n"
                    }
                }
            }
            if !stored.isEmpty {
                try FileManager.default.createDirectory(atPath: "\(workDirectory)/\(op.app)", withIntermediateDirectories: true)
                try stored.write(toFile: "\(workDirectory)/\(op.app)/contacts.txt", atomically: true, encoding: .utf8)
            }
            let configPath = "\(workDirectory)/\(op.app)/node.toml"
            try text.write(toFile: configPath, atomically: true, encoding: .utf8)
            nodes[op.app] = ManagedProcess(
                name: "\(op.app)-node", executable: executable, arguments: ["serve", "--config", configPath],
                logPath: "\(workDirectory)/\(op.app)/node.log",
                environment: Self.environment)
            sims[op.app] = ManagedProcess(
                name: "\(op.app)-sim", executable: executable,
                arguments: [
                    "sim", op.app, "--port", String(simPorts[op.app]!), "--data", "\(workDirectory)/\(op.app)/sim",
                    "--webhook", "http://127.0.0.1:\(nodePorts[op.app]!)/webhooks/\(op.tenant)",
                    "--app-secret", Self.appSecret, "--access-token", Self.accessToken, "--verify-token", "demo-verify-token",
                ],
                logPath: "\(workDirectory)/\(op.app)/sim.log")
        }
        self.nodeProcesses = nodes
        self.simProcesses = sims
    }

    /// What the nodes' configs read secrets from.
    public static var environment: [String: String] { ["PARLEY_DEMO_APP_SECRET": Self.appSecret, "PARLEY_DEMO_ACCESS_TOKEN": Self.accessToken] }

    /// User `k` of an operator (0: the scripted user).
    public static func user(_ op: Operator, _ k: Int) -> String {
        k == 0 ? op.user : String(op.user.dropLast(4)) + String(format: "%04d", 1000 + k)
    }

    /// The account in `viewer`'s app that stands for user `k` of `remote`.
    public static func account(in viewer: Operator, for remote: Operator, _ k: Int) -> String {
        if k == 0 { return viewer.accounts[remote.app]! }
        let index = { (app: String) in String(Operator.demo.firstIndex { $0.app == app } ?? 9) }
        return "8" + index(viewer.app) + index(remote.app) + String(format: "%09d", k)
    }

    /// `text` (a config) with `values` set in its first `[table]`: a key it already has is replaced, a new one added.
    static func setting(_ values: [String: String], inTable table: String, of text: String, file: String) throws -> String {
        guard !values.isEmpty else { return text }
        var lines = text.components(separatedBy: "\n")
        guard let header = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == "[\(table)]" }) else {
            throw HarnessError("harness.config", "\(file) has no [\(table)] table to extend")
        }
        for (key, value) in values.sorted(by: { $0.key < $1.key }) {
            let end = lines[(header + 1)...].firstIndex { $0.trimmingCharacters(in: .whitespaces).hasPrefix("[") } ?? lines.endIndex
            let line = "\(key) = \(value)"
            if let existing = lines[(header + 1)..<end].firstIndex(where: {
                $0.split(separator: "=", maxSplits: 1).first?.trimmingCharacters(in: .whitespaces) == key
            }) {
                lines[existing] = line
            } else {
                lines.insert(line, at: header + 1)
            }
        }
        return lines.joined(separator: "\n")
    }

    public func configPath(_ app: String) -> String { "\(workDirectory)/\(app)/node.toml" }
    public func nodeURL(_ app: String) -> String { "http://127.0.0.1:\(nodePorts[app]!)" }
    public func simURL(_ app: String) -> String { "http://127.0.0.1:\(simPorts[app]!)" }

    /// `GET path` on `app`'s node (its status and body, up to 4 MiB): the node's own endpoints, such as `/metrics`
    /// and `/debug/trace`.
    func getFromNode(_ app: String, _ path: String) async throws -> (status: UInt, body: ByteBuffer) {
        var request = HTTPClientRequest(url: nodeURL(app) + path)
        request.method = .GET
        let response = try await http.execute(request, timeout: .seconds(5))
        return (response.status.code, try await response.body.collect(upTo: 1 << 22))
    }
    public func sim(_ app: String) -> SimulatorClient { SimulatorClient(baseURL: simURL(app), httpClient: http) }
    public func node(_ app: String) -> ManagedProcess { nodeProcesses[app]! }
    public func simulator(_ app: String) -> ManagedProcess { simProcesses[app]! }
    public func op(_ app: String) -> Operator { operators.first { $0.app == app }! }
    public var dataDirectory: String { workDirectory }

    /// Starts every simulator and node, waits until all answer, creates the scripted users and records their consent.
    public func start(grantConsent: Bool = true) async throws {
        for proxy in proxies.values { try await proxy.start() }
        for op in operators { try simProcesses[op.app]!.start() }
        for op in operators {
            try await waitForHTTP("\(simURL(op.app))/sim/users", process: simProcesses[op.app]!)
        }
        try await importContacts()
        if grantConsent {
            for op in operators {
                try await self.grantConsent(op.app, users: extraUsers + 1)
            }
        }
        for op in operators { try nodeProcesses[op.app]!.start() }
        for op in operators { try await waitForHTTP("\(nodeURL(op.app))/readyz", process: nodeProcesses[op.app]!) }
        for op in operators {
            for k in 0...extraUsers { _ = try await sim(op.app).createUser(Self.user(op, k), name: k == 0 ? op.userName : "\(op.userName) \(k)") }
        }
    }

    /// Restarts one node (after a kill) and waits until it answers.
    public func restartNode(_ app: String) async throws {
        try nodeProcesses[app]!.start()
        try await waitForHTTP("\(nodeURL(app))/readyz", process: nodeProcesses[app]!)
    }

    /// Stops everything: nodes first (they finish in-flight work), then simulators.
    public func stop() async {
        await withTaskGroup(of: Void.self) { group in
            for process in nodeProcesses.values { group.addTask { await process.stop() } }
        }
        await withTaskGroup(of: Void.self) { group in
            for process in simProcesses.values { group.addTask { await process.stop() } }
        }
        for proxy in proxies.values { await proxy.stop() }
    }

    /// Runs a one-shot `parley` subcommand and fails with its output when it exits non-zero.
    /// Extra users below this number get their contacts in the config; the rest go to the store.
    static let configuredContacts = 8

    /// Loads the contacts that are not in the configs into the nodes' stores (`parley contacts import`).
    public func importContacts() async throws {
        for op in operators where extraUsers >= Self.configuredContacts {
            try await runCLI(["contacts", "import", "--config", configPath(op.app), "--file", "\(workDirectory)/\(op.app)/contacts.txt"],
                             timeout: .seconds(1_800))
        }
    }

    /// Records consent for users 0..<count of `app` through `parley users consent grant --file` (bulk onboarding).
    public func grantConsent(_ app: String, users count: Int) async throws {
        try await runCLI(["users", "consent", "grant", "--config", configPath(app), "--file", try userList(app, count)])
    }

    /// Issues keys ahead of time to users 0..<count of `app` (`parley users keys issue --file`); the node must have
    /// started once (it creates its signing key).
    public func issueKeys(_ app: String, users count: Int) async throws {
        try await runCLI(["users", "keys", "issue", "--config", configPath(app), "--file", try userList(app, count)], timeout: .seconds(1_800))
    }

    private func userList(_ app: String, _ count: Int) throws -> String {
        let path = "\(workDirectory)/\(app)/users-\(count).txt"
        if !FileManager.default.fileExists(atPath: path) {
            let op = op(app)
            try (0..<count).map { Self.user(op, $0) }.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        }
        return path
    }

    public func runCLI(_ arguments: [String], timeout: Duration = .seconds(60)) async throws {
        let log = "\(workDirectory)/cli.log"
        let process = ManagedProcess(name: "parley \(arguments.first ?? "")", executable: executable, arguments: arguments, logPath: log, environment: Self.environment)
        try process.start()
        let status = await process.waitForExit(timeout: timeout)
        guard status == 0 else { throw HarnessError("harness.cli", "parley \(arguments.joined(separator: " ")) failed:\n\(process.tail(10))") }
    }

    /// Polls `url` until it answers 2xx, the process dies, or `timeout` passes.
    public func waitForHTTP(_ url: String, process: ManagedProcess, timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if !process.isRunning {
                throw HarnessError("harness.exited", "\(process.name) exited during start-up:\n\(process.tail())")
            }
            var request = HTTPClientRequest(url: url)
            request.method = .GET
            if let response = try? await http.execute(request, timeout: .seconds(2)), (200..<300).contains(Int(response.status.code)) {
                _ = try? await response.body.collect(upTo: 1 << 20)
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw HarnessError("harness.timeout", "\(process.name) did not answer \(url) within \(timeout):\n\(process.tail())")
    }

    /// Every file under the work directory whose bytes contain `needle` (for the relay property).
    public func filesContaining(_ needle: String, under subdirectory: String = "") -> [String] {
        let root = subdirectory.isEmpty ? workDirectory : "\(workDirectory)/\(subdirectory)"
        guard let enumerator = FileManager.default.enumerator(atPath: root) else { return [] }
        let pattern = Data(needle.utf8)
        var hits: [String] = []
        for case let relative as String in enumerator {
            let path = "\(root)/\(relative)"
            guard let data = FileManager.default.contents(atPath: path), data.range(of: pattern) != nil else { continue }
            hits.append(path)
        }
        return hits
    }
}

/// Polls until `condition` returns a value, or fails after `timeout`.
@discardableResult
public func eventually<T: Sendable>(
    _ what: String, timeout: Duration = .seconds(30), every interval: Duration = .milliseconds(20),
    _ condition: @Sendable () async throws -> T?
) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    while true {
        if let value = try await condition() { return value }
        if ContinuousClock.now >= deadline { throw HarnessError("harness.timeout", "timed out after \(timeout) waiting for \(what)") }
        try await Task.sleep(for: interval)
    }
}
