/// What the host sends instead of an event the destination app cannot express, from the destination adapter's
/// declared ``AdapterCapabilities``. Adapters never see an event they did not declare.
///
/// - reaction → a short text ("reacted 👍 to a message"), replying to the reacted-to message;
/// - edit → a new message "✏️ edited: …", replying to the original;
/// - delete → a notice text;
/// - receipts, typing and echoes the app cannot take → dropped;
/// - attachments of a kind the app cannot send → a link line in the text;
/// - text over the app's limit → several messages split on whitespace (or grapheme) boundaries, counted in
///   the app's unit (characters or UTF-8 bytes).
///
/// Events produced by a fallback carry `metadata["fallback"]` naming the original kind; split parts carry
/// `metadata["part"]` as `"i/n"`.
public enum Fallbacks {
    public static func apply(_ event: BridgeEvent, to caps: AdapterCapabilities) -> [BridgeEvent] {
        guard var e = replacingKind(event, caps) else { return [] }
        e = linkingMedia(e, caps)
        return splitting(e, caps)
    }

    private static func asMessage(_ event: BridgeEvent, text: String, fallback: String) -> BridgeEvent {
        var m = event
        m.kind = .message
        m.text = text
        m.emoji = nil
        m.status = nil
        m.watermark = nil
        m.metadata["fallback"] = fallback
        return m
    }

    private static func replacingKind(_ event: BridgeEvent, _ caps: AdapterCapabilities) -> BridgeEvent? {
        let out = caps.outboundKinds
        switch event.kind {
        case .message:
            return out.contains(.message) ? event : nil
        case .reaction where !(out.contains(.reaction) && caps.reactions):
            guard out.contains(.message) else { return nil }
            let text = (event.emoji ?? "").isEmpty ? "removed a reaction from a message"
                : "reacted \(event.emoji ?? "") to a message"
            return asMessage(event, text: text, fallback: "reaction")
        case .edit where !(out.contains(.edit) && caps.edits):
            guard out.contains(.message) else { return nil }
            return asMessage(event, text: "✏️ edited: \(event.text ?? "")", fallback: "edit")
        case .delete where !(out.contains(.delete) && caps.deletes):
            guard out.contains(.message) else { return nil }
            var m = asMessage(event, text: "🗑️ a message was deleted", fallback: "delete")
            m.attachments = []
            return m
        case .receipt:
            guard out.contains(.receipt), let status = event.status, caps.receipts.contains(status) else { return nil }
            return event
        case .typing, .echo:
            return out.contains(event.kind) ? event : nil
        case .unsupported where !out.contains(.unsupported):
            guard out.contains(.message) else { return nil }
            return asMessage(event, text: event.text ?? "[a message this app cannot show]", fallback: "unsupported")
        default:
            return event
        }
    }

    /// Moves attachments the destination cannot send into the text as links.
    private static func linkingMedia(_ event: BridgeEvent, _ caps: AdapterCapabilities) -> BridgeEvent {
        guard event.kind == .message || event.kind == .edit else { return event }
        var e = event
        var lines: [String] = []
        e.attachments = event.attachments.filter { a in
            if caps.mediaKinds.contains(a.kind) { return true }
            let where_ = a.url ?? a.filename ?? a.mediaId ?? "(no link)"
            var line = "📎 \(a.kind): \(where_)"
            if let caption = a.caption, !caption.isEmpty { line += " — \(caption)" }
            if a.kind == "location", let lat = a.latitude, let lon = a.longitude { line = "📍 location: \(lat),\(lon)" }
            lines.append(line)
            return false
        }
        if !lines.isEmpty {
            e.text = ([e.text].compactMap { $0 }.filter { !$0.isEmpty } + lines).joined(separator: "\n")
            e.metadata["fallback"] = e.metadata["fallback"] ?? "media"
        }
        return e
    }

    private static func splitting(_ event: BridgeEvent, _ caps: AdapterCapabilities) -> [BridgeEvent] {
        guard let text = event.text, caps.maxTextLength > 0,
              event.kind == .message || event.kind == .edit || event.kind == .unsupported
        else { return [event] }
        let parts = split(text, limit: caps.maxTextLength, unit: caps.textLimitUnit)
        guard parts.count > 1 else { return [event] }
        return parts.enumerated().map { i, part in
            var e = event
            e.text = part
            e.metadata["part"] = "\(i + 1)/\(parts.count)"
            if i > 0 {
                // Later parts are plain follow-ups: the reference and the media ride on the first.
                e.kind = .message
                e.target = event.kind == .message ? nil : event.target
                e.attachments = []
                if !event.nativeId.isEmpty { e.nativeId = "\(event.nativeId)#\(i + 1)" }
            }
            return e
        }
    }

    /// Splits `text` into pieces of at most `limit` units, preferring to break after whitespace and never
    /// inside a grapheme. A single grapheme longer than the limit becomes a piece of its own.
    public static func split(_ text: String, limit: Int, unit: TextLimitUnit) -> [String] {
        guard limit > 0 else { return [text] }
        // Neither unit can exceed the UTF-8 length: nearly every message fits and needs no grapheme walk.
        if !text.isEmpty, text.utf8.count <= limit { return [text] }
        let graphemes = Grapheme.all(of: text, unit: unit)
        var pieces: [Range<Int>] = []  // ranges of `graphemes`
        var start = 0  // the current piece is graphemes[start..<i]
        var size = 0
        var lastBreak: Int? = nil  // just after the current piece's last whitespace
        var i = 0
        while i < graphemes.count {
            let s = Int(graphemes[i].size)
            if size + s > limit, i > start {
                let cut = (lastBreak ?? i) > start ? (lastBreak ?? i) : i
                var headEnd = cut
                while headEnd > start, graphemes[headEnd - 1].isWhitespace { headEnd -= 1 }
                pieces.append(start..<(headEnd > start ? headEnd : cut))
                start = cut
                while start < i, graphemes[start].isWhitespace { start += 1 }
                size = graphemes[start..<i].reduce(0) { $0 + Int($1.size) }
                lastBreak = nil
                if size + s > limit, i > start {
                    pieces.append(start..<i)
                    start = i
                    size = 0
                }
            }
            if i == start, graphemes[i].isWhitespace, !pieces.isEmpty {
                i += 1
                start = i
                continue
            }
            size += s
            i += 1
            if graphemes[i - 1].isWhitespace { lastBreak = i }
        }
        if i > start { pieces.append(start..<i) }
        let utf8 = text.utf8
        func offset(_ grapheme: Int) -> String.Index {
            utf8.index(utf8.startIndex, offsetBy: grapheme < graphemes.count ? Int(graphemes[grapheme].utf8Offset) : utf8.count)
        }
        return pieces.map { String(text[offset($0.lowerBound)..<offset($0.upperBound)]) }.filter { !$0.isEmpty }
    }

    /// Where a grapheme starts in the UTF-8, how many of the app's units it counts for, and whether it is whitespace.
    private struct Grapheme {
        var utf8Offset: Int32
        var size: Int32
        var isWhitespace: Bool

        static func all(of text: String, unit: TextLimitUnit) -> [Grapheme] {
            // ASCII text (nearly all long texts bots and people send) is one grapheme per byte but for CR LF, and
            // reading it byte by byte costs a fraction of Swift's grapheme breaking.
            let ascii = text.utf8.withContiguousStorageIfAvailable { bytes -> [Grapheme]? in
                guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
                return [Grapheme](unsafeUninitializedCapacity: bytes.count) { buffer, count in
                    var k = 0
                    while k < bytes.count {
                        let byte = bytes[k]
                        let pair = byte == 0x0D && k + 1 < bytes.count && bytes[k + 1] == 0x0A
                        let space = byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
                        buffer[count] = Grapheme(utf8Offset: Int32(k), size: pair && unit == .utf8Bytes ? 2 : 1, isWhitespace: space)
                        count += 1
                        k += pair ? 2 : 1
                    }
                }
            }
            if let ascii = ascii ?? nil { return ascii }
            var graphemes: [Grapheme] = []
            graphemes.reserveCapacity(text.utf8.count)
            var offset = 0
            for c in text {
                let bytes = c.utf8.count
                graphemes.append(Grapheme(utf8Offset: Int32(offset), size: Int32(unit == .characters ? 1 : bytes), isWhitespace: c.isWhitespace))
                offset += bytes
            }
            return graphemes
        }
    }
}
