import Foundation
import ParleyHarness
import Testing

/// The `parley` binary as users and other tools run it.
@Suite("Command line")
struct CommandLineTests {
    /// Runs `parley` with `arguments`; returns the exit status and output (stdout and stderr together).
    func parley(_ arguments: [String], stdin: String? = nil) async throws -> (status: Int32?, output: String) {
        try #require(FileManager.default.isExecutableFile(atPath: E2E.executable), "build parley first (`swift build`)")
        let log = NSTemporaryDirectory() + "parley-cli-\(UUID().uuidString.prefix(8)).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let process = ManagedProcess(name: "parley", executable: E2E.executable, arguments: arguments, logPath: log)
        try process.start()
        let status = await process.waitForExit(timeout: .seconds(120))
        return (status, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    @Test("the bundled adapters load as plugins and pass the conformance suite with their fixtures",
          arguments: ["whatsapp", "messenger", "instagram"])
    func bundledAdaptersPassConformance(_ name: String) async throws {
        let result = try await parley(["adapter", "check", name, "--fixtures", E2E.repository + "/Fixtures/native/\(name)"])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("PASS") || !result.output.contains("FAIL"), "\(result.output)")
    }

    @Test("a child-process adapter passes the conformance suite")
    func childProcessAdapterPassesConformance() async throws {
        let child = URL(fileURLWithPath: E2E.executable).deletingLastPathComponent().appendingPathComponent("example-child-adapter").path
        let result = try await parley(["adapter", "check", child, "--fixtures", E2E.repository + "/docs/example/Fixtures"])
        #expect(result.status == 0, "\(result.output)")
    }

    @Test("parley translate turns every shared webhook fixture into events, and refuses garbage")
    func translateHandlesTheFixtures() async throws {
        let directory = E2E.repository + "/Fixtures/native"
        for app in ["whatsapp", "messenger", "instagram"] {
            for file in try FileManager.default.contentsOfDirectory(atPath: "\(directory)/\(app)") where file.hasSuffix(".json") && file != "expected.json" {
                let result = try await parley(["translate", "--adapter", app, "--from-native", "\(directory)/\(app)/\(file)"])
                #expect(result.status == 0, "\(app) \(file): \(result.output)")
                for line in result.output.split(separator: "\n") {
                    let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                    #expect(object?["kind"] is String && object?["timestamp"] is Int, "\(line)")
                }
            }
        }
        let garbage = NSTemporaryDirectory() + "garbage-\(UUID().uuidString.prefix(6)).json"
        try "{\"object\": 12".write(toFile: garbage, atomically: true, encoding: .utf8)
        let refused = try await parley(["translate", "--adapter", "whatsapp", "--from-native", garbage])
        #expect(refused.status != 0)
        #expect(refused.output.contains("adapter."))
    }

    @Test("parley translate reads a native send body as the outbound event it expresses and writes it back")
    func translateRoundTripsSendBodies() async throws {
        let fixture = E2E.repository + "/Fixtures/native/whatsapp/whatsapp_send_reply_text.json"
        let decoded = try await parley(["translate", "--adapter", "whatsapp", "--from-native", fixture])
        #expect(decoded.status == 0, "\(decoded.output)")
        let line = try #require(decoded.output.split(separator: "\n").first.map(String.init))
        var event = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(event["kind"] as? String == "message")
        #expect(event["text"] as? String == "You're welcome, Pablo!")
        #expect(event["target"] as? String == "wamid.HBgLMTY0NjcwNDM1OTUVAgASGBQzQTdCNTg5RjY1MEMyRjlGMjRGNgA=")
        #expect((event["metadata"] as? [String: String])?["direction"] == "outbound")

        // The sending account lives in the request path, so the user supplies it to encode.
        event["recipient"] = "106540352242922"
        let lines = NSTemporaryDirectory() + "events-\(UUID().uuidString.prefix(6)).jsonl"
        defer { try? FileManager.default.removeItem(atPath: lines) }
        try JSONSerialization.data(withJSONObject: event).write(to: URL(fileURLWithPath: lines))
        let encoded = try await parley(["translate", "--adapter", "whatsapp", "--to-native", lines])
        #expect(encoded.status == 0, "\(encoded.output)")
        let request = try #require(try JSONSerialization.jsonObject(with: Data(encoded.output.utf8)) as? [String: Any])
        #expect(request["path"] as? String == "/106540352242922/messages")
        let body = try #require(request["body"] as? [String: Any])
        #expect(body["to"] as? String == "+16505551234")
        #expect((body["context"] as? [String: Any])?["message_id"] as? String == event["target"] as? String)
        #expect((body["text"] as? [String: Any])?["body"] as? String == "You're welcome, Pablo!")
    }

    @Test("parley content decode prints the message id and encode restores the exact bytes")
    func contentRoundTrip() async throws {
        let vector = E2E.repository + "/Fixtures/mimi-content/reply.cbor"
        try #require(FileManager.default.fileExists(atPath: vector))
        let decoded = try await parley(["content", "decode", vector])
        #expect(decoded.status == 0)
        #expect(decoded.output.contains("015354973c2b65ca937bf1e035ae53a5ab80e947afa43d46920d4202e5cc0b27"))
        let bad = try await parley(["content", "decode", E2E.repository + "/README.md"])
        #expect(bad.status != 0)
    }

    @Test("parley config check accepts the example and names the key of a mistake")
    func configCheck() async throws {
        let missing = try await parley(["config", "check", E2E.repository + "/Config/parley.example.toml"])
        #expect(missing.status != 0)
        #expect(missing.output.contains("webhook_secret_env") && missing.output.contains("WA_APP_SECRET"))
    }

    @Test("parley users and contacts onboard many users from files: consent, keys ahead of time, stored contacts")
    func bulkOnboarding() async throws {
        let dir = NSTemporaryDirectory() + "parley-onboard-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = dir + "/node.toml"
        try """
            [node]
            domain = "whatsapp.example"
            listen = "127.0.0.1:8443"
            data_dir = "\(dir)/data"
            signing_key_file = "\(dir)/node.key"

            [[tenants]]
            name = "wa"
            adapter = "whatsapp"
            api_base_url = "http://127.0.0.1:9"
            webhook_secret = "secret"
            verify_token = "verify"
            access_token = "token"

            [[peers]]
            domain = "messenger.example"
            url = "http://127.0.0.1:9"
            signing_key = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let users = (0..<3_000).map { "1555\(String(format: "%07d", $0))" }
        try ("# onboarding batch 1\n" + users.joined(separator: "\n") + "\n\n").write(toFile: dir + "/users.txt", atomically: true, encoding: .utf8)

        let granted = try await parley(["users", "consent", "grant", "--config", config, "--file", dir + "/users.txt"])
        #expect(granted.status == 0, "\(granted.output)")
        #expect(granted.output.contains("granted: 3000 users"))
        let listed = try await parley(["users", "consent", "list", "--config", config])
        #expect(listed.output.split(separator: "\n").filter { $0.contains("\tgranted\t") }.count == 3_000)

        // Keys need the node's signing key, which the node (or `parley keys generate`) creates.
        let noKey = try await parley(["users", "keys", "issue", "--config", config, "--file", dir + "/users.txt"])
        #expect(noKey.status != 0 && noKey.output.contains("node.key"), "\(noKey.output)")
        let generated = try await parley(["keys", "generate", "--out", dir + "/node.key"])
        #expect(generated.status == 0, "\(generated.output)")
        let issued = try await parley(["users", "keys", "issue", "--config", config, "--file", dir + "/users.txt", "extra-user"])
        #expect(issued.status == 0, "\(issued.output)")
        #expect(issued.output.contains("issued keys: 3001 of 3001 users"), "\(issued.output)")
        let again = try await parley(["users", "keys", "issue", "--config", config, "--file", dir + "/users.txt"])
        #expect(again.output.contains("issued keys: 0 of 3000 users (3000 already had keys)"), "\(again.output)")

        try """
            # account remote
            900000001 mimi://messenger.example/u/100
            900000002,mimi://messenger.example/u/200
            """.write(toFile: dir + "/contacts.txt", atomically: true, encoding: .utf8)
        let imported = try await parley(["contacts", "import", "--config", config, "--file", dir + "/contacts.txt"])
        #expect(imported.status == 0, "\(imported.output)")
        #expect(imported.output.contains("imported 2 contact(s)"))
        let shown = try await parley(["contacts", "show", "--config", config, "900000002", "mimi://messenger.example/u/100"])
        #expect(shown.status == 0)
        #expect(shown.output.contains("900000002\tmimi://messenger.example/u/200") && shown.output.contains("900000001\tmimi://messenger.example/u/100"))

        // A bad line names file and line, and nothing of the file is imported.
        try "900000003 mimi://messenger.example/u/300\n900000004 not-a-uri\n".write(toFile: dir + "/bad.txt", atomically: true, encoding: .utf8)
        let bad = try await parley(["contacts", "import", "--config", config, "--file", dir + "/bad.txt"])
        #expect(bad.status != 0 && bad.output.contains("bad.txt:2"), "\(bad.output)")
        let clash = try await parley(["contacts", "import", "--config", config, "--file", dir + "/contacts.txt"])
        #expect(clash.status == 0)  // re-running the same file is fine
        let notThere = try await parley(["contacts", "show", "--config", config, "900000003"])
        #expect(notThere.status != 0 && notThere.output.contains("no stored contact"))
    }

    @Test("parley bench runs real nodes end to end, through a peer outage, and ends with its key=value line")
    func benchSmoke() async throws {
        let result = try await parley(["bench", "--duration", "2", "--conversations", "4", "--rate", "40", "--outage", "1",
                                       "--max-queue", "10", "--configs", E2E.repository + "/Config/demo"])
        #expect(result.status == 0, "\(result.output)")
        let last = result.output.split(separator: "\n").last.map(String.init) ?? ""
        let values = Dictionary(last.split(separator: " ").compactMap { pair -> (String, String)? in
            let parts = pair.split(separator: "=", maxSplits: 1)
            return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
        }, uniquingKeysWith: { $1 })
        for key in ["msgs_per_s", "p50_ms", "p99_ms", "peak_rss_mb", "limit_ratio", "outage_rss_max_mb", "outage_drain_s",
                    "bench_cpu_ms_per_msg", "idle_pct", "iowait_pct", "disk_write_kb_per_msg"] {
            #expect(values[key].flatMap(Double.init) != nil, "\(key) missing in: \(last)")
        }
        #expect(values["lost"] == "0", "\(result.output)")
        #expect((values["msgs_per_s"].flatMap(Double.init) ?? 0) > 0)
    }

    @Test("parley bench with texts longer than the destination takes: each crosses as several messages and counts once")
    func benchWithLongTexts() async throws {
        let result = try await parley(["bench", "--duration", "1", "--conversations", "2", "--rate", "20", "--size", "5000",
                                       "--configs", E2E.repository + "/Config/demo"])
        #expect(result.status == 0, "\(result.output)")
        let last = result.output.split(separator: "\n").last.map(String.init) ?? ""
        // 5,000 characters of words: 2,000 + 2,000 + 1,000 at Messenger's limit.
        #expect(last.contains(" native_sends_per_msg=3.00 ") && last.contains(" lost=0"), "\(result.output)")
        let tooLong = try await parley(["bench", "--size", "70000", "--configs", E2E.repository + "/Config/demo"])
        #expect(tooLong.status != 0 && tooLong.output.contains("--size must be between 16 and 65536"), "\(tooLong.output)")
    }
}
