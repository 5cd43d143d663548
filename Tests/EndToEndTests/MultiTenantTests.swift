import Foundation
import ParleyHarness
import ParleySim
import Testing

/// One operator can host several apps on one node: each is its own tenant, and traffic between them takes the
/// same sealed path through the node's own federation endpoint.
@Suite("One node, two tenants")
struct MultiTenantTests {
    @Test("a node hosting Messenger and Instagram bridges between them both ways, with receipts and no plaintext at rest")
    func oneNodeServesTwoTenants() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: E2E.executable), "build parley first (`swift build`)")
        let work = NSTemporaryDirectory() + "parley-multi-\(UUID().uuidString.prefix(8))"
        let fb = Operator.demo.first { $0.app == "messenger" }!, ig = Operator.demo.first { $0.app == "instagram" }!
        var ports = Set<Int>()
        while ports.count < 3 { ports.insert(try FreePort.next()) }
        let (nodePort, fbPort, igPort) = (ports.sorted()[0], ports.sorted()[1], ports.sorted()[2])
        try FileManager.default.createDirectory(atPath: "\(work)/node", withIntermediateDirectories: true)
        func tenant(_ op: Operator, port: Int, contact: Operator) -> String {
            """
            [[tenants]]
            name = "\(op.tenant)"
            domain = "\(op.domain)"
            adapter = "\(op.app)"
            api_base_url = "http://127.0.0.1:\(port)"
            webhook_secret_env = "PARLEY_DEMO_APP_SECRET"
            verify_token = "demo-verify-token"
            access_token_env = "PARLEY_DEMO_ACCESS_TOKEN"

            [[tenants.contacts]]
            account = "\(op.accounts[contact.app]!)"
            remote = "mimi://\(contact.domain)/u/\(contact.user)"

            [tenants.policy]
            require_consent = true

            """
        }
        let config = """
            [node]
            domain = "meta.demo"
            listen = "127.0.0.1:\(nodePort)"
            data_dir = "\(work)/node"
            signing_key_file = "\(work)/node/node.key"
            create_signing_key = true

            [limits]
            retry_base_ms = 100
            retry_max_ms = 2000

            [logging]
            level = "notice"

            \(tenant(fb, port: fbPort, contact: ig))
            \(tenant(ig, port: igPort, contact: fb))
            """
        let configPath = "\(work)/node.toml"
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)

        func sim(_ op: Operator, port: Int) -> ManagedProcess {
            ManagedProcess(name: "\(op.app)-sim", executable: E2E.executable, arguments: [
                "sim", op.app, "--port", String(port), "--data", "\(work)/\(op.app)-sim",
                "--webhook", "http://127.0.0.1:\(nodePort)/webhooks/\(op.tenant)",
                "--app-secret", Federation.appSecret, "--access-token", Federation.accessToken, "--verify-token", "demo-verify-token",
            ], logPath: "\(work)/\(op.app)-sim.log")
        }
        let node = ManagedProcess(name: "node", executable: E2E.executable, arguments: ["serve", "--config", configPath],
                                  logPath: "\(work)/node.log", environment: Federation.environment)
        let sims = [sim(fb, port: fbPort), sim(ig, port: igPort)]
        let fbSim = SimulatorClient(baseURL: "http://127.0.0.1:\(fbPort)"), igSim = SimulatorClient(baseURL: "http://127.0.0.1:\(igPort)")
        // The harness's helpers (waiting, one-shot CLI runs) without its three-node layout.
        let helper = try Federation(executable: E2E.executable, configDirectory: E2E.repository + "/Config/demo", workDirectory: work + "/helper")
        do {
            for process in sims { try process.start() }
            try await helper.waitForHTTP("http://127.0.0.1:\(fbPort)/sim/users", process: sims[0])
            try await helper.waitForHTTP("http://127.0.0.1:\(igPort)/sim/users", process: sims[1])
            for op in [fb, ig] {
                try await helper.runCLI(["users", "consent", "grant", "--config", configPath, "--tenant", op.tenant, op.user])
            }
            try node.start()
            try await helper.waitForHTTP("http://127.0.0.1:\(nodePort)/readyz", process: node)
            _ = try await fbSim.createUser(fb.user, name: fb.userName)
            _ = try await igSim.createUser(ig.user, name: ig.userName)

            let sent = try await igSim.send(from: ig.user, to: ig.accounts["messenger"]!, text: "same node, other app")
            let arrived = try await eventually("Instagram → Messenger", timeout: .seconds(30)) {
                try await fbSim.mailbox(of: fb.user).inbox.first { $0.text == "same node, other app" }
            }
            _ = try await fbSim.send(from: fb.user, to: fb.accounts["instagram"]!, text: "and back", replyTo: arrived.nativeId)
            let reply = try await eventually("Messenger → Instagram", timeout: .seconds(30)) {
                try await igSim.mailbox(of: ig.user).inbox.first { $0.text == "and back" }
            }
            #expect(reply.replyTo == sent.nativeId, "the reply names the Instagram message it answers")
            _ = try await fbSim.read(by: fb.user, from: fb.accounts["instagram"]!)
            try await eventually("read receipt back to Instagram", timeout: .seconds(30)) {
                try await igSim.mailbox(of: ig.user).sent.first { $0.nativeId == sent.nativeId }?.status == "read" ? true : nil
            }
            // The search itself works: the app simulators do keep the text.
            #expect(!helper.filesContaining("and back", under: "../instagram-sim").isEmpty)
            #expect(helper.filesContaining("same node, other app", under: "../node").isEmpty)
            #expect(helper.filesContaining("and back", under: "../node").isEmpty)
        } catch {
            Issue.record("logs kept in \(work)")
            await node.stop()
            for process in sims { await process.stop() }
            throw error
        }
        await node.stop()
        for process in sims { await process.stop() }
        try? FileManager.default.removeItem(atPath: work)
    }
}
