import Foundation
import ParleyCore
@testable import ParleyNode
import Testing

@Suite("Node config")
struct ConfigTests {
    static let valid = """
        [node]
        domain = "whatsapp.example"
        listen = "127.0.0.1:8443"
        data_dir = "data"
        signing_key_file = "data/node.key"

        [[tenants]]
        name = "wa"
        adapter = "whatsapp"
        api_base_url = "http://127.0.0.1:9000"
        webhook_secret_env = "WA_SECRET"
        access_token = "token-literal"

        [[tenants.contacts]]
        account = "1001"
        remote = "mimi://messenger.example/u/42"

        [tenants.policy]
        allowed_peers = ["messenger.example"]
        accepted_kinds = ["message", "reaction"]
        max_text_bytes = 1000
        rate_per_peer = 5

        [[peers]]
        domain = "messenger.example"
        url = "http://127.0.0.1:9100"
        signing_key = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
        """

    @Test("a valid config parses with defaults, secrets from the environment and paths relative to the file")
    func validConfigParses() throws {
        let config = try NodeConfig.parse(Self.valid, file: "/etc/parley/node.toml", environment: ["WA_SECRET": "s3cret"])
        #expect(config.domain == "whatsapp.example")
        #expect(config.listen == HostPort(host: "127.0.0.1", port: 8443))
        #expect(config.publicURL == "http://127.0.0.1:8443")
        #expect(config.dataDirectory == "/etc/parley/data")
        #expect(config.tenants[0].domain == "whatsapp.example")
        #expect(config.tenants[0].webhookSecret.value == "s3cret")
        #expect(config.tenants[0].accessToken.value == "token-literal")
        #expect(config.tenants[0].policy.acceptedKinds == [.message, .reaction])
        #expect(config.tenants[0].policy.requireConsent)
        #expect(config.tenants[0].contacts == [Contact(account: "1001", remote: "mimi://messenger.example/u/42")])
        #expect(config.peers[0].serves == ["messenger.example"])
        #expect(config.limits.clockSkewSeconds == 300)
        #expect(config.limits.maxQueuePerPeer == 100_000)
        #expect(config.limits.keyCacheEntries == 10_000)
        #expect(config.limits.batchLingerMilliseconds == 0)
    }

    @Test("the batch linger is read from [limits], 0 turns it off, and more than a second is refused")
    func batchLinger() throws {
        func parse(_ value: String) throws -> NodeConfig {
            try NodeConfig.parse(Self.valid + "\n[limits]\nbatch_linger_ms = \(value)\n", file: "node.toml", environment: ["WA_SECRET": "s3cret"])
        }
        #expect(try parse("0").limits.batchLingerMilliseconds == 0)
        #expect(try parse("20").limits.batchLingerMilliseconds == 20)
        let error = #expect(throws: ConfigError.self) { try parse("1001") }
        #expect(error?.key == "limits.batch_linger_ms")
    }

    @Test("queue and cache limits are read from [limits] and checked against their ranges")
    func queueAndCacheLimits() throws {
        let tuned = Self.valid + "\n[limits]\nmax_queue_per_peer = 500\nkey_cache_entries = 64\n"
        let config = try NodeConfig.parse(tuned, file: "node.toml", environment: ["WA_SECRET": "s3cret"])
        #expect(config.limits.maxQueuePerPeer == 500 && config.limits.keyCacheEntries == 64)
        let error = #expect(throws: ConfigError.self) {
            try NodeConfig.parse(Self.valid + "\n[limits]\nmax_queue_per_peer = 0\n", file: "node.toml", environment: ["WA_SECRET": "s3cret"])
        }
        #expect(error?.key == "limits.max_queue_per_peer")
    }

    @Test("secrets never print", arguments: ["\\(secret)", "debug"])
    func secretsAreRedacted(_ how: String) throws {
        let config = try NodeConfig.parse(Self.valid, file: "node.toml", environment: ["WA_SECRET": "s3cret"])
        let printed = how == "debug" ? String(reflecting: config) : "\(config)"
        #expect(!printed.contains("s3cret"))
        #expect(!printed.contains("token-literal"))
    }

    @Test("each mistake names the file, the key and the problem", arguments: [
        ("domain = \"whatsapp.example\"", "domain = \"WhatsApp!\"", "node.domain", "config.invalid"),
        ("listen = \"127.0.0.1:8443\"", "listen = \"nowhere\"", "node.listen", "config.invalid"),
        ("webhook_secret_env = \"WA_SECRET\"", "webhook_secret_env = \"MISSING_VAR\"", "tenants[0].webhook_secret_env", "config.missing_secret"),
        ("adapter = \"whatsapp\"", "", "tenants[0].adapter", "config.invalid"),
        ("api_base_url = \"http://127.0.0.1:9000\"", "api_base_url = \"ftp://x\"", "tenants[0].api_base_url", "config.invalid"),
        ("remote = \"mimi://messenger.example/u/42\"", "remote = \"bob\"", "tenants[0].contacts[0].remote", "config.invalid"),
        ("accepted_kinds = [\"message\", \"reaction\"]", "accepted_kinds = [\"message\", \"teleport\"]", "tenants[0].policy.accepted_kinds[1]", "config.invalid"),
        ("allowed_peers = [\"messenger.example\"]", "allowed_peers = [\"nobody.example\"]", "tenants[0].policy.allowed_peers", "config.invalid"),
        ("max_text_bytes = 1000", "max_text_bytes = \"big\"", "tenants[0].policy.max_text_bytes", "config.wrong_type"),
        ("signing_key = \"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\"", "signing_key = \"short\"", "peers[0].signing_key", "config.invalid"),
        ("[node]", "[nod]", "node", "config.missing_key"),
    ])
    func mistakesAreNamed(_ original: String, _ replacement: String, _ key: String, _ code: String) throws {
        let text = Self.valid.replacingOccurrences(of: original, with: replacement)
        #expect(text != Self.valid)
        do {
            _ = try NodeConfig.parse(text, file: "node.toml", environment: ["WA_SECRET": "s3cret"])
            Issue.record("accepted a config with a bad \(key)")
        } catch {
            #expect(error.file == "node.toml")
            #expect(error.key == key)
            #expect(error.code == code)
            #expect(error.description.contains(key))
        }
    }

    @Test("TOML syntax errors give the line")
    func syntaxErrorsGiveTheLine() {
        #expect(throws: ConfigError.self) { try NodeConfig.parse("[node]\ndomain = ", file: "bad.toml") }
        do {
            _ = try NodeConfig.parse("[node]\ndomain = ", file: "bad.toml")
        } catch {
            #expect(error.code == "config.syntax")
            #expect(error.description.contains("line"))
        }
    }

    @Test("the shipped example and demo templates are valid")
    func shippedConfigsAreValid() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let example = try NodeConfig.load(path: root + "/Config/parley.example.toml", environment: ["WA_APP_SECRET": "x", "WA_ACCESS_TOKEN": "y", "WA_VERIFY_TOKEN": "z"])
        #expect(example.tenants.count == 1)
        for app in ["whatsapp", "messenger", "instagram"] {
            var text = try String(contentsOfFile: root + "/Config/demo/\(app).toml", encoding: .utf8)
            for (key, value) in ["NODE_PORT": "1", "SIM_PORT": "2", "PEER1_PORT": "3", "PEER2_PORT": "4", "DATA_DIR": "/tmp/x", "LOG_LEVEL": "info",
                                 "PEER1_KEY": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", "PEER2_KEY": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="] {
                text = text.replacingOccurrences(of: "${\(key)}", with: value)
            }
            let config = try NodeConfig.parse(text, file: app, environment: ["PARLEY_DEMO_APP_SECRET": "a", "PARLEY_DEMO_ACCESS_TOKEN": "b"])
            #expect(config.tenants[0].contacts.count == 2)
            #expect(config.peers.count == 2)
        }
    }
}
