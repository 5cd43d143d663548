// Builders for the messages the bridge sends, and the reverse: what kind of message a received one is.
// The shapes follow the draft's examples (reply, reaction, edit, delete, unlike, attachment).

extension MIMIContent {
    /// The media type the bridge uses for plain text bodies.
    public static let plainText = "text/plain;charset=utf-8"
    /// GitHub Flavored Markdown for MIMI, the draft's rich-text type.
    public static let markdown = "text/markdown;variant=GFM-MIMI"

    private static func make(
        sender: String, room: String, salt: [UInt8]?, replaces: MessageId? = nil, inReplyTo: MessageId? = nil,
        topicId: [UInt8], expires: Expiration?, body: NestedPart
    ) -> MIMIContent {
        MIMIContent(
            salt: salt ?? randomSalt(), replaces: replaces, topicId: topicId, expires: expires,
            inReplyTo: inReplyTo, extensions: MIMIExtensions(senderUri: sender, roomUri: room), body: body)
    }

    private static func textPart(_ text: String, contentType: String, language: String) -> NestedPart {
        NestedPart(disposition: .render, language: language,
                   content: .single(SinglePart(contentType: contentType, content: Array(text.utf8))))
    }

    /// A text message. `salt` defaults to a fresh random one (pass one only in tests; it must be 16 bytes).
    public static func text(
        _ text: String, sender: String, room: String, contentType: String = plainText, language: String = "",
        topicId: [UInt8] = [], expires: Expiration? = nil, salt: [UInt8]? = nil
    ) -> MIMIContent {
        make(sender: sender, room: room, salt: salt, topicId: topicId, expires: expires,
             body: textPart(text, contentType: contentType, language: language))
    }

    /// A reply: a text message whose `inReplyTo` is the specific version replied to.
    public static func reply(
        to original: MessageId, text: String, sender: String, room: String, contentType: String = plainText,
        language: String = "", topicId: [UInt8] = [], expires: Expiration? = nil, salt: [UInt8]? = nil
    ) -> MIMIContent {
        make(sender: sender, room: room, salt: salt, inReplyTo: original, topicId: topicId, expires: expires,
             body: textPart(text, contentType: contentType, language: language))
    }

    /// A reaction: disposition `reaction`, the emoji as plain text, `inReplyTo` the message reacted to.
    public static func reaction(
        _ emoji: String, to original: MessageId, sender: String, room: String,
        topicId: [UInt8] = [], salt: [UInt8]? = nil
    ) -> MIMIContent {
        make(sender: sender, room: room, salt: salt, inReplyTo: original, topicId: topicId, expires: nil,
             body: NestedPart(disposition: .reaction, language: "",
                              content: .single(SinglePart(contentType: plainText, content: Array(emoji.utf8)))))
    }

    /// An edit: `replaces` is the id of the *first* version of the message; the body is the new text.
    /// `inReplyTo` carries over the edited message's own `inReplyTo`, as in the draft's example.
    public static func edit(
        replacing firstVersion: MessageId, text: String, inReplyTo: MessageId? = nil, sender: String, room: String,
        contentType: String = plainText, language: String = "", topicId: [UInt8] = [], salt: [UInt8]? = nil
    ) -> MIMIContent {
        make(sender: sender, room: room, salt: salt, replaces: firstVersion, inReplyTo: inReplyTo,
             topicId: topicId, expires: nil, body: textPart(text, contentType: contentType, language: language))
    }

    /// A delete: `replaces` the first version's id, with a null part.
    public static func delete(
        replacing firstVersion: MessageId, inReplyTo: MessageId? = nil, sender: String, room: String,
        topicId: [UInt8] = [], salt: [UInt8]? = nil
    ) -> MIMIContent {
        make(sender: sender, room: room, salt: salt, replaces: firstVersion, inReplyTo: inReplyTo,
             topicId: topicId, expires: nil, body: NestedPart(disposition: .render, language: "", content: .null))
    }

    /// Removes a reaction ("unlike"): `replaces` the reaction message's id, a null part with disposition
    /// `reaction`, and `inReplyTo` the message that had been reacted to (so receivers can find it directly).
    public static func unlike(
        reaction: MessageId, on original: MessageId?, sender: String, room: String,
        topicId: [UInt8] = [], salt: [UInt8]? = nil
    ) -> MIMIContent {
        make(sender: sender, room: room, salt: salt, replaces: reaction, inReplyTo: original, topicId: topicId,
             expires: nil, body: NestedPart(disposition: .reaction, language: "", content: .null))
    }

    /// An attachment: an external part with disposition `attachment`. With a caption, the body is a
    /// `processAll` multipart of the caption text and the attachment.
    public static func attachment(
        _ external: ExternalPart, caption: String? = nil, inReplyTo: MessageId? = nil, sender: String,
        room: String, language: String = "", topicId: [UInt8] = [], expires: Expiration? = nil,
        salt: [UInt8]? = nil
    ) -> MIMIContent {
        let file = NestedPart(disposition: .attachment, language: language, content: .external(external))
        let body: NestedPart
        if let caption, !caption.isEmpty {
            body = NestedPart(disposition: .render, language: language, content: .multi(MultiPart(
                semantics: .processAll,
                parts: [textPart(caption, contentType: plainText, language: language), file])))
        } else {
            body = file
        }
        return make(sender: sender, room: room, salt: salt, inReplyTo: inReplyTo, topicId: topicId,
                    expires: expires, body: body)
    }
}

/// What a received message means to a chat app.
public enum MIMIContentKind: String, Sendable, Hashable, CaseIterable {
    /// A new text message.
    case text
    /// A new message with `inReplyTo` (and no attachment).
    case reply
    /// A reaction (disposition `reaction`) to `inReplyTo`.
    case reaction
    /// A new version of the message whose first version is `replaces`.
    case edit
    /// A retraction of `replaces` (null part).
    case delete
    /// The removal of the reaction `replaces` (null part with disposition `reaction`).
    case unlike
    /// A message carrying at least one external part.
    case attachment
    /// Anything else (e.g. a lone null part); the bridge reports it as unsupported.
    case other

    /// The bridge event kind this maps to. An unlike is a `reaction` whose emoji is empty.
    public var bridgeKind: BridgeEvent.Kind {
        switch self {
        case .text, .reply, .attachment: .message
        case .reaction, .unlike: .reaction
        case .edit: .edit
        case .delete: .delete
        case .other: .unsupported
        }
    }
}

extension MIMIContent {
    /// Classifies the message: removals first (a null part with `replaces`), then reactions, edits,
    /// attachments, replies and plain text.
    public var kind: MIMIContentKind {
        if case .null = body.content {
            guard replaces != nil else { return .other }
            return body.disposition == .reaction ? .unlike : .delete
        }
        if body.disposition == .reaction { return .reaction }
        if replaces != nil { return .edit }
        if !externalParts.isEmpty { return .attachment }
        if inReplyTo != nil { return .reply }
        return text == nil ? .other : .text
    }

    /// Every single part, depth first (for `chooseOne` multiparts only the first alternative).
    public var singleParts: [(disposition: Disposition, language: String, part: SinglePart)] {
        var out: [(Disposition, String, SinglePart)] = []
        func walk(_ p: NestedPart) {
            switch p.content {
            case .single(let s): out.append((p.disposition, p.language, s))
            case .multi(let m):
                if m.semantics == .chooseOne { if let first = m.parts.first { walk(first) } } else { m.parts.forEach(walk) }
            default: break
            }
        }
        walk(body)
        return out
    }

    /// Every external part, depth first (for `chooseOne` multiparts only the first alternative).
    public var externalParts: [ExternalPart] {
        var out: [ExternalPart] = []
        func walk(_ p: NestedPart) {
            switch p.content {
            case .external(let e): out.append(e)
            case .multi(let m):
                if m.semantics == .chooseOne { if let first = m.parts.first { walk(first) } } else { m.parts.forEach(walk) }
            default: break
            }
        }
        walk(body)
        return out
    }

    /// The text of the first `text/*` single part that is valid UTF-8 (the reaction emoji for reactions).
    public var text: String? {
        for (_, _, part) in singleParts where part.contentType.lowercased().hasPrefix("text/") {
            if let s = String(validating: part.content, as: UTF8.self) { return s }
        }
        return nil
    }
}
