import ParleyKit
import Testing

@Suite struct FallbackTests {
    /// A destination that takes only plain messages with images, 40 characters at most.
    let plain = AdapterCapabilities(inboundKinds: [.message], outboundKinds: [.message], maxTextLength: 40,
                                    mediaKinds: ["image"], groups: false, reactions: false, edits: false,
                                    deletes: false, receipts: [])
    let base = BridgeEvent(kind: .message, nativeId: "n1", conversation: "c", sender: "s", timestamp: 5, target: "t1")

    @Test func supportedEventsPassUnchanged() {
        var e = base
        e.text = "short"
        #expect(Fallbacks.apply(e, to: plain) == [e])
    }

    @Test func reactionBecomesAShortTextReplyingToItsTarget() {
        var e = base
        e.kind = .reaction
        e.emoji = "👍"
        let out = Fallbacks.apply(e, to: plain)
        #expect(out.count == 1)
        #expect(out[0].kind == .message)
        #expect(out[0].text == "reacted 👍 to a message")
        #expect(out[0].target == "t1")
        #expect(out[0].emoji == nil)
        #expect(out[0].metadata["fallback"] == "reaction")
        e.emoji = ""
        #expect(Fallbacks.apply(e, to: plain).first?.text == "removed a reaction from a message")
    }

    @Test func editBecomesAMarkedNewMessage() {
        var e = base
        e.kind = .edit
        e.text = "fixed"
        let out = Fallbacks.apply(e, to: plain)
        #expect(out.map(\.kind) == [.message])
        #expect(out.first?.text == "✏️ edited: fixed")
        #expect(out.first?.metadata["fallback"] == "edit")
    }

    @Test func deleteBecomesANotice() {
        var e = base
        e.kind = .delete
        #expect(Fallbacks.apply(e, to: plain).first?.text == "🗑️ a message was deleted")
    }

    @Test func receiptsAndTypingTheDestinationCannotTakeAreDropped() {
        var e = base
        e.kind = .receipt
        e.status = .read
        #expect(Fallbacks.apply(e, to: plain).isEmpty)
        var withReads = plain
        withReads.outboundKinds.insert(.receipt)
        withReads.receipts = [.read]
        #expect(Fallbacks.apply(e, to: withReads) == [e])
        e.status = .delivered
        #expect(Fallbacks.apply(e, to: withReads).isEmpty, "a status the app does not accept is dropped")
        e.kind = .typing
        #expect(Fallbacks.apply(e, to: plain).isEmpty)
    }

    @Test func unsupportedMediaBecomesALinkInTheText() {
        var e = base
        e.text = "see"
        e.attachments = [Attachment(kind: "image", url: "https://x/i.png"), Attachment(kind: "video", url: "https://x/v.mp4")]
        var caps = plain
        caps.maxTextLength = 1000
        let out = Fallbacks.apply(e, to: caps)
        #expect(out.count == 1)
        #expect(out[0].attachments.map(\.kind) == ["image"])
        #expect(out[0].text == "see\n📎 video: https://x/v.mp4")
    }

    @Test func longTextSplitsOnWhitespaceWithinTheLimit() {
        var e = base
        e.text = "the quick brown fox jumps over the lazy dog again and again, and then it sleeps"
        let out = Fallbacks.apply(e, to: plain)
        #expect(out.count > 1)
        for part in out { #expect((part.text ?? "").count <= 40) }
        #expect(out.map { $0.text ?? "" }.joined(separator: " ") == e.text)
        #expect(out.first?.target == "t1")
        #expect(out.dropFirst().allSatisfy { $0.target == nil })
        #expect(out.last?.metadata["part"] == "\(out.count)/\(out.count)")
        #expect(Set(out.map(\.nativeId)).count == out.count, "each part gets its own id")
    }

    @Test func splittingCountsUTF8BytesWhenTheAppDoes() {
        let text = String(repeating: "é", count: 10)  // 10 characters, 20 bytes
        #expect(Fallbacks.split(text, limit: 10, unit: .characters) == [text])
        let parts = Fallbacks.split(text, limit: 10, unit: .utf8Bytes)
        #expect(parts == [String(repeating: "é", count: 5), String(repeating: "é", count: 5)])
    }

    @Test func splittingNeverBreaksAGrapheme() {
        let family = "👨‍👩‍👧‍👦"  // one grapheme, 25 UTF-8 bytes
        let parts = Fallbacks.split("ab" + family + "cd", limit: 8, unit: .utf8Bytes)
        #expect(parts == ["ab", family, "cd"])
        #expect(Fallbacks.split("abcdefghij", limit: 4, unit: .characters) == ["abcd", "efgh", "ij"])
    }
}
