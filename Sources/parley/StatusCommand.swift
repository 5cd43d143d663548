import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import ParleyNode
import ParleyStore

/// `parley status --config FILE`: queues per tenant and peer, delivery states, and whether the node answers.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show a node's queues, peers and health.")

    @Option(name: .long, help: "The node's config file.")
    var config: String

    func run() async throws {
        let nodeConfig = try loadConfigOrExit(config)
        let url = URL(string: "\(nodeConfig.publicURL)/readyz")!
        let health: String
        do {
            let (_, response) = try await URLSession.shared.data(from: url)
            health = (response as? HTTPURLResponse)?.statusCode == 200 ? "ready" : "not ready"
        } catch {
            health = "not answering (\(error.localizedDescription))"
        }
        print("node \(nodeConfig.domain) at \(nodeConfig.publicURL): \(health)")
        print("peers: \(nodeConfig.peers.map { "\($0.domain) (\($0.url))" }.joined(separator: ", "))")
        let path = nodeConfig.dataDirectory + "/parley.sqlite"
        guard FileManager.default.fileExists(atPath: path) else {
            print("no store yet at \(path)")
            return
        }
        let store = try ParleyStore(path: path, logger: Logger(label: "parley.cli"))
        defer { try? store.close() }
        for stats in try await store.stats() {
            print("tenant \(stats.tenant): consents granted \(stats.consentsGranted)")
            for queue in stats.outbox { print("  outbox  peer=\(queue.peer) state=\(queue.state) count=\(queue.count)") }
            for queue in stats.inbox { print("  inbox   origin=\(queue.peer) state=\(queue.state) count=\(queue.count)") }
            for (status, count) in stats.delivery.sorted(by: { $0.key.rawValue < $1.key.rawValue }) { print("  delivery \(status.rawValue)=\(count)") }
        }
    }
}
