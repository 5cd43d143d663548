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
        func size(_ c: Character) -> Int { unit == .characters ? 1 : c.utf8.count }
        guard limit > 0 else { return [text] }
        // Neither unit can exceed the UTF-8 length: nearly every message fits and needs no grapheme walk.
        if !text.isEmpty, text.utf8.count <= limit { return [text] }
        var pieces: [String] = []
        var current: [Character] = []
        var currentSize = 0
        var lastBreak: Int? = nil  // index in `current` just after the last whitespace
        for c in text {
            let s = size(c)
            if currentSize + s > limit, !current.isEmpty {
                let cut = (lastBreak ?? current.count) > 0 ? (lastBreak ?? current.count) : current.count
                let head = String(current[..<cut])
                let tail = Array(current[cut...])
                pieces.append(head.trimmingTrailingWhitespace)
                current = Array(tail.drop(while: { $0.isWhitespace }))
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

extension String {
    fileprivate var trimmingTrailingWhitespace: String {
        var s = Substring(self)
        while let last = s.last, last.isWhitespace { s = s.dropLast() }
        return s.isEmpty ? self : String(s)
    }
}
