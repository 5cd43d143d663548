import ArgumentParser
import Foundation
import Logging
import Metrics
import ParleyNode
import Prometheus
import ServiceLifecycle

/// `parley serve --config FILE`: run a node until SIGTERM/SIGINT, finishing in-flight work on the way out.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run a bridge node from a config file.",
        discussion: "Prints `parley node <domain> listening on <host>:<port>` once the node accepts requests. Stops gracefully on SIGTERM or SIGINT.")

    @Option(name: .long, help: "The node's TOML config file.")
    var config: String

    func run() async throws {
        let nodeConfig = try loadConfigOrExit(config)
        ParleyLogging.bootstrap(level: nodeConfig.logLevel, format: nodeConfig.logFormat)
        let registry = PrometheusCollectorRegistry()
        if nodeConfig.metricsEnabled {
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        }
        var logger = Logger(label: "parley.node")
        logger[metadataKey: "node"] = .string(nodeConfig.domain)
        let node: BridgeNode
        do {
            node = try BridgeNode(config: nodeConfig, adapterLoader: { try NodeAdapters.load($0) }, logger: logger, registry: nodeConfig.metricsEnabled ? registry : nil)
        } catch {
            throw CLIError("cannot start the node: \(error)")
        }
        let domain = nodeConfig.domain, host = nodeConfig.listen.host
        let group = ServiceGroup(
            services: node.services(onListening: { port in
                FileHandle.standardOutput.write(Data("parley node \(domain) listening on \(host):\(port)\n".utf8))
            }),
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        do {
            try await group.run()
        } catch {
            await node.shutdown()
            throw CLIError("the node stopped: \(error)")
        }
        await node.shutdown()
        logger.info("stopped")
    }
}

/// An error the CLI prints as is, exiting non-zero.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Loads and validates a config, turning problems into a CLI error that names the file and key.
func loadConfigOrExit(_ path: String) throws -> NodeConfig {
    do {
        return try NodeConfig.load(path: path)
    } catch {
        throw CLIError(error.description)
    }
}
