import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import ParleyCrypto
import ParleyHarness
import ParleySim
import Testing

/// Real `parley sim` and `parley serve` processes on loopback, three operators, as in `parley demo`.
@Suite("Federation end to end", .serialized)
struct FederationTests {
    @Test("every event kind crosses every ordered pair of apps, and no plaintext reaches a node's files or the wire")
    func everyEventKindCrossesEveryPairAndNothingLeaks() async throws {
        try await E2E.withFederation(captureFederation: true) { federation in
            let results = await DemoScript(federation: federation, output: { _ in }).run()
            for result in results where !result.delivered {
                Issue.record("step \(result.number) \(result.from)→\(result.to) \(result.action): \(result.error ?? "")")
            }
            #expect(results.count == 36)
            #expect(Set(results.map { "\($0.from)>\($0.to)" }).count == 6)
            await federation.stop()
            // The relay property: the scripted texts never appear in any node's files (database, WAL, logs)
            // nor in any federation request or answer body.
            let secrets = ["it's Alice", "it's Bob", "it's Carol", "Hello Alice", "Hello Bob", "Hello Carol", "view from", "(edited)"]
            for secret in secrets {
                for op in federation.operators {
                    #expect(federation.filesContaining(secret, under: "\(op.app)/node").isEmpty, "\(secret) found in \(op.app)'s node files")
                }
                let needle = Array(secret.utf8)
                for (app, proxy) in federation.proxies {
                    #expect(!proxy.bodies.contains { $0.firstRange(of: needle) != nil }, "\(secret) crossed into \(app) in the clear")
                }
            }
            #expect(federation.proxies.values.contains { !$0.bodies.isEmpty }, "the federation traffic was captured")
            // The sims (the apps themselves) do hold the text: the check above is not vacuous.
            #expect(!federation.filesContaining("it's Alice", under: "messenger/sim").isEmpty || !federation.filesContaining("it's Alice", under: "instagram/sim").isEmpty)
        }
    }

    @Test("many messages across many conversations at once: none lost, none duplicated, order kept per conversation")
    func manyConversationsConcurrently() async throws {
        let perConversation = 12
        try await E2E.withFederation(extraUsers: 14) { federation in
            let ops = federation.operators
            // 3 apps × 2 destinations × 14 users × 12 messages = 1,008 messages.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for a in ops {
                    for b in ops where a.app != b.app {
                        for k in 1...federation.extraUsers {
                            group.addTask {
                                let sim = federation.sim(a.app)
                                for n in 0..<perConversation {
                                    _ = try await sim.send(from: Federation.user(a, k), to: Federation.account(in: a, for: b, k), text: "load \(a.app)>\(b.app) u\(k) #\(n)")
                                }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            for b in ops {
                for k in 1...federation.extraUsers {
                    let user = Federation.user(b, k)
                    for a in ops where a.app != b.app {
                        let account = Federation.account(in: b, for: a, k)
                        let texts = try await eventually("\(perConversation) messages \(a.app)>\(b.app) u\(k)", timeout: .seconds(240), every: .milliseconds(200)) {
                            let inbox = try await federation.sim(b.app).mailbox(of: user).inbox.filter { $0.account == account }.map { $0.text ?? "" }
                            return inbox.count >= perConversation ? inbox : nil
                        }
                        #expect(texts == (0..<perConversation).map { "load \(a.app)>\(b.app) u\(k) #\($0)" })
                    }
                }
            }
        }
    }

    /// Streams `count` numbered texts from `from`'s user to `to`'s user; once a few are through, `interrupt`s the
    /// destination node and restarts it; returns every text the destination user ended up with.
    func streamAcrossRestart(
        _ federation: Federation, from: String, to: String, prefix: String, count: Int,
        interrupt: @escaping (ManagedProcess) async -> Void
    ) async throws -> [String] {
        let origin = federation.op(from), destination = federation.op(to)
        let sender = Task {
            for n in 0..<count {
                _ = try await federation.sim(from).send(from: origin.user, to: origin.accounts[to]!, text: "\(prefix) #\(n)")
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        try await eventually("a few messages through", timeout: .seconds(30)) {
            try await federation.sim(to).mailbox(of: destination.user).inbox.count >= 3 ? true : nil
        }
        await interrupt(federation.node(to))
        try await sender.value
        try await federation.restartNode(to)
        return try await eventually("all \(count) messages", timeout: .seconds(120), every: .milliseconds(200)) {
            let inbox = try await federation.sim(to).mailbox(of: destination.user).inbox.compactMap(\.text)
            return inbox.count >= count ? inbox : nil
        }
    }

    @Test("a node killed with SIGKILL mid-stream and restarted loses and duplicates nothing")
    func nodeKilledMidStream() async throws {
        try await E2E.withFederation { federation in
            let wa = federation.op("whatsapp"), fb = federation.op("messenger")
            let count = 30
            let texts = try await streamAcrossRestart(federation, from: "whatsapp", to: "messenger", prefix: "crash", count: count) { node in
                node.killHard()
            }
            #expect(texts == (0..<count).map { "crash #\($0)" })
            // The origin node also survives a SIGKILL with queued work.
            federation.node("whatsapp").killHard()
            _ = try await federation.sim("whatsapp").send(from: wa.user, to: wa.accounts["messenger"]!, text: "after restart")
            try await federation.restartNode("whatsapp")
            try await eventually("the message sent while the origin was down", timeout: .seconds(120), every: .milliseconds(200)) {
                try await federation.sim("messenger").mailbox(of: fb.user).inbox.contains { $0.text == "after restart" } ? true : nil
            }
            let final = try await federation.sim("messenger").mailbox(of: fb.user).inbox.compactMap(\.text)
            #expect(final.count == count + 1)
        }
    }

    @Test("SIGTERM mid-stream: the node finishes in-flight work, exits 0, and after a restart nothing is lost or doubled")
    func gracefulShutdownMidStream() async throws {
        try await E2E.withFederation { federation in
            let count = 20
            let texts = try await streamAcrossRestart(federation, from: "instagram", to: "whatsapp", prefix: "graceful", count: count) { node in
                let status = await node.stop(grace: .seconds(20))
                #expect(status == 0, "a graceful stop exits 0 before the grace period ends: \(node.tail())")
            }
            #expect(texts == (0..<count).map { "graceful #\($0)" })
        }
    }

    @Test("a peer down for a while, then back: everything queued is delivered once, in order")
    func peerDownThenBack() async throws {
        try await E2E.withFederation { federation in
            let ig = federation.op("instagram"), fb = federation.op("messenger")
            await federation.node("messenger").stop()
            for n in 0..<10 {
                _ = try await federation.sim("instagram").send(from: ig.user, to: ig.accounts["messenger"]!, text: "while down #\(n)")
            }
            try await Task.sleep(for: .seconds(2))
            try await federation.restartNode("messenger")
            let texts = try await eventually("queued messages", timeout: .seconds(120), every: .milliseconds(200)) {
                let inbox = try await federation.sim("messenger").mailbox(of: fb.user).inbox.compactMap(\.text)
                return inbox.count >= 10 ? inbox : nil
            }
            #expect(texts == (0..<10).map { "while down #\($0)" })
        }
    }

    @Test("a backlog of long messages crosses in transactions the peer takes, in order and none refused; a peer that takes less gets halves")
    func longMessagesCrossInTransactionsThePeerTakes() async throws {
        try await E2E.withFederation(limits: ["max_transaction_bytes": "16384"]) { federation in
            let wa = federation.op("whatsapp")
            @Sendable func log(_ app: String) -> String { E2E.nodeLog(federation, app) }
            @Sendable func inbox() async throws -> [String] { try await E2E.inboxTexts(federation, "messenger") }
            // ~2,400 characters: over Messenger's 2,000, so each also arrives as two messages; ~4 KiB in a body.
            func long(_ label: String) -> String { label + " " + (0..<500).map { "w\($0)" }.joined(separator: " ") }
            var sent = ["hello"]
            func expectArrival(_ what: String) async throws {
                let expected = sent.joined(separator: " ")
                let texts = try await eventually(what, timeout: .seconds(120), every: .milliseconds(200)) {
                    let texts = try await inbox()
                    return texts.joined(separator: " ").count >= expected.count ? texts : nil
                }
                #expect(texts.joined(separator: " ") == expected, "every message once, in order, its parts together")
            }
            // First contact while both are up, so the recipient's keys are known while the peer is away.
            _ = try await federation.sim("whatsapp").send(from: wa.user, to: wa.accounts["messenger"]!, text: "hello")
            try await expectArrival("the first message")

            /// Ten long messages queue up while the peer is down, then the peer comes back.
            func queueTenWhileThePeerIsDown(_ label: String) async throws {
                for n in 0..<10 {
                    sent.append(long("\(label) #\(n)"))
                    _ = try await federation.sim("whatsapp").send(from: wa.user, to: wa.accounts["messenger"]!, text: sent.last!)
                }
                try await Task.sleep(for: .seconds(1))
                try await federation.restartNode("messenger")
                try await expectArrival("the long messages \(label)")
            }

            // Together ~40 KiB, they go out as bodies of at most 16 KiB.
            await federation.node("messenger").stop()
            try await queueTenWhileThePeerIsDown("queued")
            #expect(!log("whatsapp").contains("peer refused"), "no transaction over the peer's limit was sent")

            // The sender now sends bodies of up to 8 MiB, the peer still takes 16 KiB: refused as too large, the
            // transaction is sent again in halves until each fits.
            await federation.node("messenger").stop()
            await federation.node("whatsapp").stop()
            let config = try String(contentsOfFile: federation.configPath("whatsapp"), encoding: .utf8)
            try config.replacingOccurrences(of: "max_transaction_bytes = 16384", with: "max_transaction_bytes = 8388608")
                .write(toFile: federation.configPath("whatsapp"), atomically: true, encoding: .utf8)
            try await federation.restartNode("whatsapp")
            try await queueTenWhileThePeerIsDown("sent in halves")
            #expect(log("whatsapp").contains("sending it in halves"))
            #expect(!log("whatsapp").contains("peer refused envelope") && !log("messenger").contains("app delivery failed"))
        }
    }

    @Test("full queues push back along the chain with 503 + Retry-After (absent peer → app, slow app → peer), losing and doubling nothing")
    func fullQueuesPushBack() async throws {
        try await E2E.withFederation(limits: ["max_queue_per_peer": "3"]) { federation in
            let ig = federation.op("instagram")
            @Sendable func log(_ app: String) -> String { E2E.nodeLog(federation, app) }
            @Sendable func inbox() async throws -> [String] { try await E2E.inboxTexts(federation, "messenger") }

            // First contact while both are up, so the recipient's key bundle is known when the peer goes away.
            _ = try await federation.sim("instagram").send(from: ig.user, to: ig.accounts["messenger"]!, text: "hello")
            _ = try await eventually("the first message", timeout: .seconds(30), every: .milliseconds(100)) {
                try await inbox().contains("hello") ? true : nil
            }

            // An absent peer: the Instagram node's outbox to it fills to the limit, then the app's webhooks are refused
            // (503 + Retry-After) and redelivered by the app until the peer is back.
            await federation.node("messenger").stop()
            let first = ["hello"] + (0..<8).map { "while the peer is down #\($0)" }
            for text in first.dropFirst() {
                _ = try await federation.sim("instagram").send(from: ig.user, to: ig.accounts["messenger"]!, text: text)
                try await Task.sleep(for: .milliseconds(300))
            }
            _ = try await eventually("the Instagram node pushes back on its app", timeout: .seconds(30), every: .milliseconds(200)) {
                log("instagram").contains("webhook pushed back") ? true : nil
            }
            let refused = try await eventually("the app sees the 503", timeout: .seconds(10), every: .milliseconds(100)) {
                let pushedBack = try await federation.sim("instagram").deliveries().filter { $0.lastStatus == 503 }
                return pushedBack.isEmpty ? nil : pushedBack
            }
            #expect(refused.allSatisfy { $0.state == "pending" }, "a refused webhook stays with the app until accepted")
            try await federation.restartNode("messenger")
            let afterOutage = try await eventually("everything after the outage", timeout: .seconds(120), every: .milliseconds(200)) {
                let texts = try await inbox()
                return Set(first).isSubset(of: Set(texts)) ? texts : nil
            }
            #expect(afterOutage.count == first.count, "each message exactly once: \(afterOutage)")

            // A slow app: the Messenger node's inbox from Instagram fills while its app fails, so it refuses the next
            // transactions (503 + Retry-After); Instagram keeps them in its outbox and sends them once there is room.
            try await federation.sim("messenger").setFault(SimFault(mode: "error500"))
            let second = (0..<8).map { "while the app is failing #\($0)" }
            for text in second[..<4] { _ = try await federation.sim("instagram").send(from: ig.user, to: ig.accounts["messenger"]!, text: text) }
            try await Task.sleep(for: .milliseconds(1_500))
            for text in second[4...] { _ = try await federation.sim("instagram").send(from: ig.user, to: ig.accounts["messenger"]!, text: text) }
            _ = try await eventually("the Messenger node pushes back on its peer", timeout: .seconds(30), every: .milliseconds(200)) {
                log("messenger").contains("transaction pushed back") ? true : nil
            }
            try await federation.sim("messenger").clearFaults()
            let all = try await eventually("everything after the slow app recovered", timeout: .seconds(120), every: .milliseconds(200)) {
                let texts = try await inbox()
                return Set(first + second).isSubset(of: Set(texts)) ? texts : nil
            }
            #expect(all.count == first.count + second.count, "each message exactly once: \(all)")
            #expect(!log("instagram").contains("app delivery failed") && !log("messenger").contains("app delivery failed"))
        }
    }

    @Test("a node stopped while its app is slow to accept a message records it as delivered before it exits")
    func aGracefulStopRecordsWhatTheAppAccepted() async throws {
        try await E2E.withFederation { federation in
            let wa = federation.op("whatsapp"), fb = federation.op("messenger")
            _ = try await federation.sim("whatsapp").send(from: wa.user, to: wa.accounts["messenger"]!, text: "first contact")
            _ = try await eventually("the first message", timeout: .seconds(30), every: .milliseconds(100)) {
                try await federation.sim("messenger").mailbox(of: fb.user).inbox.contains { $0.text == "first contact" } ? true : nil
            }
            // The app holds the next message for 3 s; the node is told to stop meanwhile. Its egress pass finishes
            // (the app accepts) and no claim follows, so the record that would ride on it must be written another
            // way: by the pass itself (it ran past `recordWithin`) or by the worker on its way out.
            try await federation.sim("messenger").setFault(SimFault(mode: "slow", count: 1, delayMs: 3_000))
            _ = try await federation.sim("whatsapp").send(from: wa.user, to: wa.accounts["messenger"]!, text: "while the app is slow")
            _ = try await eventually("the Messenger node has the message", timeout: .seconds(30), every: .milliseconds(50)) {
                let metrics = try await E2E.http(URLRequest(url: URL(string: federation.nodeURL("messenger") + "/metrics")!)).body
                let received = metrics.split(separator: "\n").filter { $0.hasPrefix("parley_messages_received_total") }
                    .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
                return received >= 2 ? true : nil
            }
            // The same scrape carries the store's own counters (what `parley bench` reads per phase): a synced commit
            // at least for each transaction received, each with the log pages it wrote.
            let scrape = try await E2E.http(URLRequest(url: URL(string: federation.nodeURL("messenger") + "/metrics")!)).body
            let writes = try #require(BenchStoreWrites.Amounts(prometheusText: scrape))
            #expect(writes.commits >= 2 && writes.walFrames >= writes.commits)
            // Well inside the app's 3 s: the egress pass has claimed the row and is waiting for the app.
            try await Task.sleep(for: .milliseconds(700))
            await federation.node("messenger").stop(grace: .seconds(20))
            let inbox = try await federation.sim("messenger").mailbox(of: fb.user).inbox.compactMap(\.text)
            #expect(inbox == ["first contact", "while the app is slow"])

            let statusLog = "\(federation.workDirectory)/status.log"
            let status = ManagedProcess(name: "parley status", executable: federation.executable,
                                        arguments: ["status", "--config", federation.configPath("messenger")], logPath: statusLog,
                                        environment: Federation.environment)
            try status.start()
            #expect(await status.waitForExit(timeout: .seconds(60)) == 0)
            let inboxLines = try String(contentsOfFile: statusLog, encoding: .utf8).split(separator: "\n").filter { $0.contains("inbox ") }
            #expect(inboxLines.contains { $0.contains("state=delivered count=2") }, "\(inboxLines)")
            #expect(!inboxLines.contains { $0.contains("state=inflight") || $0.contains("state=pending") }, "\(inboxLines)")
        }
    }

    @Test("an app answering 500s and 429s gets every message exactly once")
    func appErrorsAreRetried() async throws {
        try await E2E.withFederation { federation in
            let wa = federation.op("whatsapp"), ig = federation.op("instagram")
            try await federation.sim("instagram").setFault(SimFault(mode: "error500", count: 3))
            for n in 0..<3 {
                _ = try await federation.sim("whatsapp").send(from: wa.user, to: wa.accounts["instagram"]!, text: "retry #\(n)")
            }
            _ = try await eventually("first messages", timeout: .seconds(60), every: .milliseconds(100)) {
                try await federation.sim("instagram").mailbox(of: ig.user).inbox.count >= 3 ? true : nil
            }
            try await federation.sim("instagram").setFault(SimFault(mode: "rateLimit", count: 2, retryAfterSeconds: 1))
            for n in 3..<6 {
                _ = try await federation.sim("whatsapp").send(from: wa.user, to: wa.accounts["instagram"]!, text: "retry #\(n)")
            }
            let texts = try await eventually("all messages", timeout: .seconds(60), every: .milliseconds(100)) {
                let inbox = try await federation.sim("instagram").mailbox(of: ig.user).inbox.compactMap(\.text)
                return inbox.count >= 6 ? inbox : nil
            }
            #expect(texts == (0..<6).map { "retry #\($0)" })
        }
    }

    @Test("duplicate and replayed webhooks produce one message; a bad signature is refused")
    func duplicateWebhooksAndBadSignatures() async throws {
        try await E2E.withFederation { federation in
            let wa = federation.op("whatsapp"), fb = federation.op("messenger")
            _ = try await federation.sim("whatsapp").send(from: wa.user, to: wa.accounts["messenger"]!, text: "only once")
            try await eventually("first copy", timeout: .seconds(30)) {
                try await federation.sim("messenger").mailbox(of: fb.user).inbox.contains { $0.text == "only once" } ? true : nil
            }
            let delivered = try await federation.sim("whatsapp").deliveries().filter { $0.body.contains("only once") }
            let body = try #require(delivered.first).body
            let url = URL(string: "\(federation.nodeURL("whatsapp"))/webhooks/\(wa.tenant)")!
            for _ in 0..<3 {
                var request = URLRequest(url: url)
                request.httpMethod = "POST"
                request.httpBody = Data(body.utf8)
                request.setValue("sha256=" + Hashing.hex(Hashing.hmacSHA256(key: Array(Federation.appSecret.utf8), message: Array(body.utf8))), forHTTPHeaderField: "X-Hub-Signature-256")
                #expect(try await E2E.http(request).status == 200)
            }
            var forged = URLRequest(url: url)
            forged.httpMethod = "POST"
            forged.httpBody = Data(body.replacingOccurrences(of: "only once", with: "forged!!!").utf8)
            forged.setValue("sha256=" + Hashing.hex(Hashing.hmacSHA256(key: Array(Federation.appSecret.utf8), message: Array(body.utf8))), forHTTPHeaderField: "X-Hub-Signature-256")
            #expect(try await E2E.http(forged).status == 401)
            // A later message in the same conversation arriving proves the earlier copies were processed.
            _ = try await federation.sim("whatsapp").send(from: wa.user, to: wa.accounts["messenger"]!, text: "marker")
            let inbox = try await eventually("marker", timeout: .seconds(30)) {
                let inbox = try await federation.sim("messenger").mailbox(of: fb.user).inbox.compactMap(\.text)
                return inbox.contains("marker") ? inbox : nil
            }
            #expect(inbox.filter { $0 == "only once" }.count == 1)
            #expect(!inbox.contains("forged!!!"))
        }
    }

    @Test("reordered webhooks: a reaction that arrives before its message waits for it, and every message arrives once")
    func reorderedWebhooksAreDeliveredOnceInEffect() async throws {
        try await E2E.withFederation(logLevel: "info") { federation in
            let fb = federation.op("messenger"), wa = federation.op("whatsapp")
            let messenger = federation.sim("messenger"), toWhatsApp = fb.accounts["whatsapp"]!
            // Each action its own POST; held, then delivered newest first: reaction, second message, first message.
            try await messenger.setFault(SimFault(mode: "reorderWebhooks", delayMs: 800))
            let first = try await messenger.send(from: fb.user, to: toWhatsApp, text: "reordered first")
            try await messenger.flush()
            _ = try await messenger.send(from: fb.user, to: toWhatsApp, text: "reordered second")
            try await messenger.flush()
            _ = try await messenger.react(from: fb.user, to: toWhatsApp, messageId: try #require(first.nativeId), emoji: "👍")
            try await messenger.flush()

            let inbox = try await eventually("both messages and the reaction", timeout: .seconds(60), every: .milliseconds(200)) {
                let inbox = try await federation.sim("whatsapp").mailbox(of: wa.user).inbox
                let reacted = inbox.first { $0.text == "reordered first" }?.reactions.contains { $0.emoji == "👍" } == true
                return reacted && inbox.contains { $0.text == "reordered second" } ? inbox : nil
            }
            try await messenger.clearFaults()
            #expect(inbox.filter { $0.text == "reordered first" }.count == 1)
            #expect(inbox.filter { $0.text == "reordered second" }.count == 1)
            #expect(inbox.first { $0.text == "reordered first" }?.reactions.count == 1)
            // The app really did deliver them out of order, and the reaction was redelivered after waiting.
            let deliveries = try await messenger.deliveries()
            let reactionPost = try #require(deliveries.first { $0.body.contains("\"reaction\"") })
            let firstPost = try #require(deliveries.first { $0.body.contains("reordered first") })
            #expect(reactionPost.attempts > 1, "the node should have asked for the early reaction to be redelivered")
            #expect((firstPost.deliveredMs ?? 0) <= (reactionPost.deliveredMs ?? 0))
            // Nothing went back to the sender as a failure.
            let sent = try await messenger.mailbox(of: fb.user).sent
            #expect(!sent.contains { $0.status == "failed" }, "\(sent)")

            // One correlation id follows each message from the origin's log to the destination's.
            func correlationIds(_ app: String, _ message: String) throws -> Set<String> {
                let log = try String(contentsOfFile: "\(federation.workDirectory)/\(app)/node.log", encoding: .utf8)
                return Set(log.split(separator: "\n").filter { $0.contains(message) }.compactMap { line in
                    line.firstMatch(of: /cid=([0-9a-f]{16})/).map { String($0.1) }
                })
            }
            let accepted = try correlationIds("messenger", "accepted from app")
            let delivered = try correlationIds("whatsapp", "delivered to app")
            #expect(accepted.count == 3, "message, message, reaction: \(accepted)")
            #expect(accepted.isSubset(of: delivered), "origin \(accepted), destination \(delivered)")
        }
    }

    @Test("refusals reach the sender as a native failure with their reason: no consent, over the size limit")
    func refusalsBecomeNativeFailures() async throws {
        try await E2E.withFederation { federation in
            let wa = federation.op("whatsapp"), fb = federation.op("messenger"), ig = federation.op("instagram")
            // The recipient withdrew consent (enforced by the recipient's own node).
            try await federation.runCLI(["users", "consent", "revoke", "--config", federation.configPath("messenger"), fb.user])
            let toBob = try await federation.sim("whatsapp").send(from: wa.user, to: wa.accounts["messenger"]!, text: "are you there?")
            let failed = try await eventually("failed status", timeout: .seconds(30)) {
                try await federation.sim("whatsapp").mailbox(of: wa.user).sent.first { $0.nativeId == toBob.nativeId && $0.status == "failed" }
            }
            #expect(failed.errorMessage?.hasPrefix("policy.recipient_no_consent") == true, "\(failed.errorMessage ?? "no reason")")
            // Over the sender operator's size limit (4096 bytes in Config/demo): refused before anything leaves.
            let big = String(repeating: "é", count: 3000)
            let toCarol = try await federation.sim("whatsapp").send(from: wa.user, to: wa.accounts["instagram"]!, text: big)
            let tooLarge = try await eventually("too-large failure", timeout: .seconds(30)) {
                try await federation.sim("whatsapp").mailbox(of: wa.user).sent.first { $0.nativeId == toCarol.nativeId && $0.status == "failed" }
            }
            #expect(tooLarge.errorMessage?.hasPrefix("policy.too_large") == true, "\(tooLarge.errorMessage ?? "no reason")")
            // The sender without consent is refused by their own node.
            try await federation.runCLI(["users", "consent", "revoke", "--config", federation.configPath("instagram"), ig.user])
            let fromCarol = try await federation.sim("instagram").send(from: ig.user, to: ig.accounts["whatsapp"]!, text: "let me in")
            let senderRefused = try await eventually("sender-consent failure", timeout: .seconds(30)) {
                try await federation.sim("instagram").mailbox(of: ig.user).sent.first { $0.nativeId == fromCarol.nativeId && $0.status == "failed" }
            }
            #expect(senderRefused.errorMessage?.hasPrefix("policy.sender_no_consent") == true, "\(senderRefused.errorMessage ?? "no reason")")
            #expect(try await federation.sim("whatsapp").mailbox(of: wa.user).inbox.isEmpty)
            #expect(try await federation.sim("instagram").mailbox(of: ig.user).inbox.isEmpty)
            #expect(try await federation.sim("messenger").mailbox(of: fb.user).inbox.isEmpty)
        }
    }

    @Test("federation requests from an unknown peer, with the wrong key, tampered or replayed are refused with their codes")
    func hostileFederationRequests() async throws {
        try await E2E.withFederation(captureFederation: true) { federation in
            let wa = federation.op("whatsapp"), fb = federation.op("messenger")
            _ = try await federation.sim("whatsapp").send(from: wa.user, to: wa.accounts["messenger"]!, text: "genuine")
            try await eventually("genuine message", timeout: .seconds(30)) {
                try await federation.sim("messenger").mailbox(of: fb.user).inbox.contains { $0.text == "genuine" } ? true : nil
            }
            let captured = try #require(federation.proxies["messenger"]?.bodies.first { String(decoding: $0, as: UTF8.self).contains("\"envelopes\"") })
            let path = "/v1/send/replay-\(UUID().uuidString.prefix(8))"
            // Unknown peer: signed by a key nobody pinned, claiming an unknown origin.
            let stranger = NodeSigningKey.generate()
            let unknown = try await E2E.signedPUT(federation, as: "whatsapp", origin: "evil.example", to: "messenger", path: path, body: captured, key: stranger)
            #expect(unknown.status == 401 && unknown.body.contains("federation.unknown_key"))
            // Right origin, wrong key.
            let wrongKey = try await E2E.signedPUT(federation, as: "whatsapp", to: "messenger", path: path, body: captured, key: stranger)
            #expect(wrongKey.status == 401 && wrongKey.body.contains("federation.unknown_key"))
            // Replayed envelope in a new, correctly signed transaction: recognised, not delivered again.
            let replay = try await E2E.signedPUT(federation, as: "whatsapp", to: "messenger", path: path, body: captured)
            #expect(replay.status == 200 && replay.body.contains("\"duplicate\""))
            // Tampered ciphertext: the envelope is refused with envelope.tampered.
            let object = try #require(JSONSerialization.jsonObject(with: Data(captured)) as? [String: Any])
            let envelopes = try #require(object["envelopes"] as? [String])
            var bytes = try #require(Data(base64Encoded: envelopes[0]))
            bytes[5] ^= 0x01  // inside the envelope id: a new id (not a duplicate) that the AEAD no longer covers
            let tamperedBody = try JSONSerialization.data(withJSONObject: ["origin": object["origin"] ?? "", "envelopes": [bytes.base64EncodedString()]])
            let tampered = try await E2E.signedPUT(federation, as: "whatsapp", to: "messenger", path: path + "-t", body: Array(tamperedBody))
            #expect(tampered.status == 200 && tampered.body.contains("envelope.tampered"))
            // A large transaction is admitted in concurrent slices; the answer still follows the body's order.
            var mixed: [String] = []
            for k in 1...40 {
                var variant = try #require(Data(base64Encoded: envelopes[0]))
                variant[5] ^= UInt8(k)
                mixed.append(k == 8 ? "not base64!" : k == 14 ? envelopes[0] : variant.base64EncodedString())
            }
            let mixedBody = try JSONSerialization.data(withJSONObject: ["origin": object["origin"] ?? "", "envelopes": mixed])
            let large = try await E2E.signedPUT(federation, as: "whatsapp", to: "messenger", path: path + "-m", body: Array(mixedBody))
            #expect(large.status == 200)
            let answer = try #require(JSONSerialization.jsonObject(with: Data(large.body.utf8)) as? [String: Any])
            let results = try #require(answer["results"] as? [[String: Any]])
            #expect(results.count == 40)
            for (index, result) in results.enumerated() {
                let expected = index == 7 ? "envelope.malformed" : index == 13 ? "duplicate" : "envelope.tampered"
                #expect((result["code"] as? String ?? result["status"] as? String) == expected, "result \(index): \(result)")
            }
            let inbox = try await federation.sim("messenger").mailbox(of: fb.user).inbox.compactMap(\.text)
            #expect(inbox == ["genuine"])
        }
    }
}
