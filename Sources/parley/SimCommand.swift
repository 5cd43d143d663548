import ArgumentParser
import Foundation
import Logging
import ParleySim
import ServiceLifecycle

/// `parley sim whatsapp|messenger|instagram …` — run one simulated app back-end until SIGTERM/SIGINT.
struct SimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Run a simulated app back-end (WhatsApp Cloud API, Messenger Platform or Instagram Messaging).",
        discussion: """
            Serves the native send API (POST /{account}/messages, Bearer token) and the scripting API under /sim/,
            and POSTs signed native webhooks to --webhook, retrying until the node answers 200.
            Prints `listening on HOST:PORT` once ready.
            """)

    @Argument(help: "Which app to simulate: whatsapp, messenger or instagram.")
    var app: String

    @Option(help: "Port to listen on (0 picks a free one).")
    var port: Int = 0

    @Option(help: "Interface to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "Directory for the simulator's SQLite store.")
    var data: String

    @Option(help: "The node's webhook URL.")
    var webhook: String

    @Option(name: .customLong("app-secret"), help: "App secret for X-Hub-Signature-256.")
    var appSecret: String

    @Option(name: .customLong("access-token"), help: "Bearer token the send API accepts.")
    var accessToken: String

    @Option(name: .customLong("verify-token"), help: "hub.verify_token for the GET verification handshake.")
    var verifyToken: String = "parley-verify"

    @Option(name: .customLong("batch-window-ms"), help: "How long an update may wait to share a webhook POST.")
    var batchWindowMs: Int = 50

    @Option(name: .customLong("max-batch"), help: "Most updates per webhook POST.")
    var maxBatch: Int = 50

    func validate() throws {
        guard SimulatorApp(rawValue: app) != nil else {
            throw ValidationError("unknown app '\(app)'; use whatsapp, messenger or instagram")
        }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535") }
        guard URL(string: webhook)?.scheme?.hasPrefix("http") == true else { throw ValidationError("--webhook must be an http(s) URL") }
        guard batchWindowMs >= 0, maxBatch >= 1 else { throw ValidationError("--batch-window-ms must be ≥ 0 and --max-batch ≥ 1") }
    }

    func run() async throws {
        guard let kind = SimulatorApp(rawValue: app) else { throw ValidationError("unknown app '\(app)'") }
        let logger = Logger(label: "parley.sim.\(kind.rawValue)")
        let config = SimulatorConfig(
            app: kind, host: host, port: port, dataDirectory: data, webhookURL: webhook, appSecret: appSecret,
            verifyToken: verifyToken, accessToken: accessToken, batchWindow: .milliseconds(batchWindowMs), maxBatch: maxBatch)
        let simulator = try Simulator(config: config, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [simulator], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        let host = self.host
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask {
                let bound = try await simulator.waitUntilListening()
                // Unbuffered, so a parent process reading our stdout sees the line at once.
                FileHandle.standardOutput.write(Data("listening on \(host):\(bound)\n".utf8))
            }
            try await tasks.waitForAll()
        }
    }
}
