import ParleyCore
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

    @Test func splittingMatchesTheCharacterByCharacterDefinitionOnMixedTexts() {
        // ASCII (read byte by byte), CR LF (one grapheme of two bytes), and graphemes of several scalars.
        let alphabet = ["a", "b", " ", " ", "\n", "\r\n", "\r", "\t", "é", "e\u{301}", "👨‍👩‍👧‍👦", "🇫🇷", "x", "y", "z"]
        var random = SplitMix64(seed: 42)
        for round in 0..<3_000 {
            let asciiOnly = round % 2 == 0
            let letters = asciiOnly ? alphabet.filter { $0.utf8.allSatisfy { $0 < 0x80 } } : alphabet
            let text = (0..<Int.random(in: 0...60, using: &random)).map { _ in letters.randomElement(using: &random)! }.joined()
            let limit = Int.random(in: 1...12, using: &random)
            for unit in [TextLimitUnit.characters, .utf8Bytes] {
                let parts = Fallbacks.split(text, limit: limit, unit: unit)
                #expect(parts == Self.splitCharacterByCharacter(text, limit: limit, unit: unit), "\(text.debugDescription), limit \(limit), \(unit)")
            }
        }
    }

    @Test func splittingALongASCIITextKeepsEveryWordAndBreaksBetweenWords() {
        let words = (0..<3_000).map { "w\($0)" }
        let parts = Fallbacks.split(words.joined(separator: " "), limit: 2_000, unit: .characters)
        #expect(parts.count > 1)
        #expect(parts.allSatisfy { $0.count <= 2_000 && !$0.hasPrefix(" ") && !$0.hasSuffix(" ") })
        #expect(parts.flatMap { $0.split(separator: " ").map(String.init) } == words)
    }

    /// The splitter as first written, one `Character` at a time: the definition the faster one must keep.
    static func splitCharacterByCharacter(_ text: String, limit: Int, unit: TextLimitUnit) -> [String] {
        func size(_ c: Character) -> Int { unit == .characters ? 1 : c.utf8.count }
        func trimmingTrailingWhitespace(_ string: String) -> String {
            var s = Substring(string)
            while let last = s.last, last.isWhitespace { s = s.dropLast() }
            return s.isEmpty ? string : String(s)
        }
        guard limit > 0 else { return [text] }
        if !text.isEmpty, text.utf8.count <= limit { return [text] }
        var pieces: [String] = []
        var current: [Character] = []
        var currentSize = 0
        var lastBreak: Int? = nil
        for c in text {
            let s = size(c)
            if currentSize + s > limit, !current.isEmpty {
                let cut = (lastBreak ?? current.count) > 0 ? (lastBreak ?? current.count) : current.count
                pieces.append(trimmingTrailingWhitespace(String(current[..<cut])))
                current = Array(Array(current[cut...]).drop(while: { $0.isWhitespace }))
                currentSize = current.reduce(0) { $0 + size($1) }
                lastBreak = nil
                if currentSize + s > limit, !current.isEmpty {
                    pieces.append(String(current))
                    current = []
                    currentSize = 0
                }
            }
            if current.isEmpty && c.isWhitespace && !pieces.isEmpty { continue }
            current.append(c)
            currentSize += s
            if c.isWhitespace { lastBreak = current.count }
        }
        if !current.isEmpty { pieces.append(String(current)) }
        return pieces.filter { !$0.isEmpty }
    }
}
