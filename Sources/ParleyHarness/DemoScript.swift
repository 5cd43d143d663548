import AsyncHTTPClient
import Foundation
import NIOCore
import ParleySim

/// One step of the scripted conversation and what happened to it.
public struct DemoStepResult: Sendable {
    public var number: Int
    public var from: String
    public var to: String
    public var action: String
    public var delivered: Bool
    public var latencyMs: Int
    public var arrived: String
    public var nodeView: String
    public var error: String?
}

/// The scripted cross-app conversation of `parley demo`: for every ordered pair of apps a text, a reply, a reaction,
/// an image by link and a read receipt; edits from Messenger (the only app whose webhook carries the new text) and
/// deletes from WhatsApp and Instagram. Each step waits until the destination app shows it in its native form.
public struct DemoScript: Sendable {
    public let federation: Federation
    public let stepTimeout: Duration
    let output: @Sendable (String) -> Void

    public init(federation: Federation, stepTimeout: Duration = .seconds(30), output: @escaping @Sendable (String) -> Void = { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) }) {
        self.federation = federation
        self.stepTimeout = stepTimeout
        self.output = output
    }

    /// Runs every step; returns the results (a step that times out is reported, and the run goes on).
    public func run() async -> [DemoStepResult] {
        var results: [DemoStepResult] = []
        var number = 0
        let apps = federation.operators.map(\.app)
        for a in apps {
            for b in apps where a != b {
                let pair = await runPair(from: federation.op(a), to: federation.op(b), number: &number)
                results += pair
            }
        }
        return results
    }

    func runPair(from a: Operator, to b: Operator, number: inout Int) async -> [DemoStepResult] {
        let simA = federation.sim(a.app), simB = federation.sim(b.app)
        guard let accountInA = a.accounts[b.app], let accountInB = b.accounts[a.app] else { return [] }
        var results: [DemoStepResult] = []
        let tag = "\(a.app.prefix(2))→\(b.app.prefix(2))"
        var original: (inA: String, inB: String)?
        var reply: (inA: String, inB: String)?

        number += 1
        let text = "Hi \(b.userName), it's \(a.userName) on \(a.app) [\(tag)]"
        results.append(await step(number, a, b, "text \"\(text)\"") {
            let sent = try await simA.send(from: a.user, to: accountInA, text: text)
            let arrived = try await eventually("text in \(b.app)", timeout: stepTimeout) {
                try await simB.mailbox(of: b.user).inbox.first { $0.account == accountInB && $0.text == text }
            }
            original = (sent.nativeId ?? "", arrived.nativeId)
            return "\(b.app) message \(Self.short(arrived.nativeId)) kind=\(arrived.kind) text=\"\(arrived.text ?? "")\""
        })

        number += 1
        let replyText = "Hello \(a.userName)! — \(b.userName) [\(tag)]"
        results.append(await step(number, b, a, "reply \"\(replyText)\"") {
            guard let original else { throw HarnessError("demo.skipped", "the text step failed") }
            let sent = try await simB.send(from: b.user, to: accountInB, text: replyText, replyTo: original.inB)
            let arrived = try await eventually("reply in \(a.app)", timeout: stepTimeout) {
                try await simA.mailbox(of: a.user).inbox.first { $0.account == accountInA && $0.text == replyText }
            }
            guard arrived.replyTo == original.inA else {
                throw HarnessError("demo.reply_unlinked", "the reply arrived but quotes \(arrived.replyTo ?? "nothing") instead of \(original.inA)")
            }
            reply = (arrived.nativeId, sent.nativeId ?? "")
            return "\(a.app) message \(Self.short(arrived.nativeId)) replying to \(Self.short(arrived.replyTo ?? ""))"
        })

        number += 1
        results.append(await step(number, a, b, "reaction 👍 to the reply") {
            guard let reply else { throw HarnessError("demo.skipped", "the reply step failed") }
            _ = try await simA.react(from: a.user, to: accountInA, messageId: reply.inA, emoji: "👍")
            let reacted = try await eventually("reaction in \(b.app)", timeout: stepTimeout) {
                try await simB.mailbox(of: b.user).sent.first { $0.nativeId == reply.inB && $0.reactions.contains { $0.emoji == "👍" || $0.emoji == "❤️" } }
            }
            return "\(b.app) message \(Self.short(reacted.nativeId)) reactions=\(reacted.reactions.map(\.emoji).joined())"
        })

        number += 1
        let imageURL = "https://picsum.photos/seed/\(a.app)-\(b.app)/640/480.jpg"
        results.append(await step(number, a, b, "image by link") {
            _ = try await simA.sendMedia(from: a.user, to: accountInA, url: imageURL, kind: "image", caption: "view from \(a.app)")
            let arrived = try await eventually("image in \(b.app)", timeout: stepTimeout) {
                try await simB.mailbox(of: b.user).inbox.first { $0.account == accountInB && $0.mediaURL == imageURL }
            }
            return "\(b.app) \(arrived.kind) \(Self.short(arrived.nativeId)) url=\(arrived.mediaURL ?? "")"
        })

        number += 1
        results.append(await step(number, b, a, "read receipt") {
            guard let original else { throw HarnessError("demo.skipped", "the text step failed") }
            _ = try await simB.read(by: b.user, from: accountInB, upTo: nil)
            let read = try await eventually("read status in \(a.app)", timeout: stepTimeout) {
                try await simA.mailbox(of: a.user).sent.first { $0.nativeId == original.inA && $0.status == "read" }
            }
            return "\(a.app) shows \(Self.short(read.nativeId)) as \(read.status)"
        })

        if a.app == "messenger" {
            number += 1
            let edited = "Hi \(b.userName), it's \(a.userName) (edited) [\(tag)]"
            results.append(await step(number, a, b, "edit → \"\(edited)\"") {
                guard let original else { throw HarnessError("demo.skipped", "the text step failed") }
                _ = try await simA.edit(by: a.user, messageId: original.inA, text: edited)
                let arrived = try await eventually("edit in \(b.app)", timeout: stepTimeout) {
                    try await simB.mailbox(of: b.user).inbox.first { $0.account == accountInB && ($0.text ?? "").contains(edited) }
                }
                return "\(b.app) cannot edit: fallback message \(Self.short(arrived.nativeId)) \"\(arrived.text ?? "")\""
            })
        }
        if a.app != "messenger" {
            number += 1
            results.append(await step(number, a, b, "delete the first message") {
                guard let original else { throw HarnessError("demo.skipped", "the text step failed") }
                _ = try await simA.delete(by: a.user, messageId: original.inA)
                let arrived = try await eventually("delete notice in \(b.app)", timeout: stepTimeout) {
                    try await simB.mailbox(of: b.user).inbox.first {
                        $0.account == accountInB && (($0.text ?? "").lowercased().contains("delete") || ($0.deleted && $0.nativeId == original.inB))
                    }
                }
                return "\(b.app) cannot delete: notice \(Self.short(arrived.nativeId)) \"\(arrived.text ?? "")\""
            })
        }
        return results
    }

    func step(_ number: Int, _ from: Operator, _ to: Operator, _ action: String, _ body: () async throws -> String) async -> DemoStepResult {
        let traceStart = await traceCursor(from.app)
        let started = ContinuousClock.now
        var result = DemoStepResult(number: number, from: from.app, to: to.app, action: action, delivered: false, latencyMs: 0, arrived: "", nodeView: "")
        do {
            result.arrived = try await body()
            result.delivered = true
        } catch {
            result.error = "\(error)"
        }
        let elapsed = ContinuousClock.now - started
        result.latencyMs = Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
        result.nodeView = await nodeView(from.app, since: traceStart)
        let mark = result.delivered ? "✓" : "✗"
        output(String(format: "%@ %2d  %@ %@ → %@ %@: %@", mark, number, from.userName, from.app, to.userName, to.app, action))
        output("       \(from.app) node: \(result.nodeView)")
        output(result.delivered ? "       arrived: \(result.arrived)  (\(result.latencyMs) ms)" : "       NOT DELIVERED: \(result.error ?? "")")
        return result
    }

    struct Trace: Decodable { var seq: Int; var step: String; var peer: String; var bytes: Int; var detail: String }

    func traceCursor(_ app: String) async -> Int {
        ((try? await traces(app, since: 0))?.last?.seq ?? -1) + 1
    }

    func traces(_ app: String, since: Int) async throws -> [Trace] {
        let body = try await federation.getFromNode(app, "/debug/trace?since=\(since)").body
        return try JSONDecoder().decode([Trace].self, from: Data(body.readableBytesView))
    }

    /// Sizes only: what the origin node sealed and sent (content never appears in a trace).
    func nodeView(_ app: String, since: Int) async -> String {
        guard let entries = try? await traces(app, since: since), !entries.isEmpty else { return "(no envelope)" }
        return entries.filter { $0.step == "sealed" || $0.step == "sent" || $0.step == "refused" }
            .map { "\($0.step) \($0.detail) \($0.bytes) B ciphertext → \($0.peer)" }
            .joined(separator: "; ")
    }

    static func short(_ id: String) -> String { id.count > 18 ? String(id.prefix(15)) + "…" : id }
}
