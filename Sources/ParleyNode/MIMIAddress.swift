/// A MIMI user or room URI: `mimi://<domain>/u/<user>` or `mimi://<domain>/r/<room>`.
public struct MIMIAddress: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable { case user = "u", room = "r" }
    public var domain: String
    public var kind: Kind
    public var id: String

    public init(domain: String, kind: Kind = .user, id: String) {
        self.domain = domain
        self.kind = kind
        self.id = id
    }

    /// Parses a URI; `nil` if it is not a MIMI user/room URI.
    public init?(_ uri: String) {
        guard uri.hasPrefix("mimi://") else { return nil }
        let rest = uri.dropFirst("mimi://".count)
        let parts = rest.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[2].isEmpty, let kind = Kind(rawValue: String(parts[1])) else { return nil }
        self.domain = String(parts[0])
        self.kind = kind
        self.id = String(parts[2])
    }

    public var description: String { "mimi://\(domain)/\(kind.rawValue)/\(id)" }
}
