import Foundation
import ParleyCore
import TOMLKit

/// A problem in a config file, naming the file, the key and what is wrong.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    /// Stable codes, e.g. `config.missing_key`.
    public var code: String
    public var file: String
    public var key: String
    public var problem: String

    public init(code: String, file: String, key: String, problem: String) {
        self.code = code
        self.file = file
        self.key = key
        self.problem = problem
    }

    public var description: String {
        key.isEmpty ? "\(file): \(problem) [\(code)]" : "\(file): \(key): \(problem) [\(code)]"
    }
}

/// A value that must never be printed: `description` is redacted, so logging a config cannot leak it.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    public let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}

/// `host:port` to listen on or connect to.
public struct HostPort: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
    public var description: String { "\(host):\(port)" }
}

/// Where a tenant's adapter comes from.
public enum AdapterSource: Sendable, Hashable {
    /// A bundled adapter by name (`whatsapp`, `messenger`, `instagram`), found next to the executable.
    case named(String)
    /// A shared library to `dlopen`.
    case library(String)
    /// A child process speaking the framed protocol on stdin/stdout.
    case command([String])
}

/// A remote user as the local app sees them: a business account id in the app that stands for the remote user.
public struct Contact: Sendable, Hashable {
    /// The native account id (WhatsApp phone_number_id, Page id, Instagram account id).
    public var account: String
    /// The remote user's MIMI URI, `mimi://<domain>/u/<user>`.
    public var remote: String
    public init(account: String, remote: String) {
        self.account = account
        self.remote = remote
    }
}

/// What one operator lets through, enforced by its own node only.
public struct Policy: Sendable, Hashable {
    /// `nil`: every configured peer.
    public var allowedPeers: Set<String>?
    public var deniedPeers: Set<String> = []
    /// Users must opt in before their messages leave or reach them (the default).
    public var requireConsent = true
    public var acceptedKinds: Set<BridgeEvent.Kind> = [.message, .edit, .delete, .reaction, .receipt]
    public var maxTextBytes = 16 * 1024
    public var maxAttachments = 10
    /// Messages per second accepted from (and sent to) each peer; 0 = unlimited.
    public var ratePerPeer: Double = 0
    public var rateBurst: Double = 100
    /// Rows and ciphertext older than this are purged; 0 = keep.
    public var retentionDays: Double = 30

    public init() {}
}

/// One operator served by this node.
public struct TenantConfig: Sendable {
    public var name: String
    /// The operator's domain: users are `mimi://<domain>/u/<native id>`.
    public var domain: String
    public var adapter: AdapterSource
    /// Base URL of the app's native send API.
    public var apiBaseURL: String
    public var webhookSecret: Secret
    public var verifyToken: Secret
    public var accessToken: Secret
    public var contacts: [Contact]
    public var policy: Policy

    /// The MIMI URI of one of this tenant's users: `mimi://<domain>/u/<native user id>`.
    public func userURI(_ nativeUser: String) -> String { MIMIAddress(domain: domain, id: nativeUser).description }
}

/// A federation partner, pinned by its signing key.
public struct PeerConfig: Sendable, Hashable {
    /// The peer node's domain (its identity in signatures).
    public var domain: String
    public var url: String
    /// Base64 Ed25519 public key.
    public var signingKey: String
    /// Operator domains the peer serves (default: its own domain).
    public var serves: [String]
}

public struct Limits: Sendable, Hashable {
    public var maxWebhookBodyBytes = 1 << 20
    /// The largest federation transaction body taken from a peer, and the most this node puts in one it sends.
    public var maxTransactionBytes = 8 << 20
    public var maxEnvelopesPerTransaction = 500
    public var clockSkewSeconds = 300
    /// How long an envelope may wait for a peer before it is dead-lettered.
    public var messageTTLSeconds = 86_400
    public var retryBaseMilliseconds = 200
    public var retryMaxMilliseconds = 60_000
    public var nativeRetryLimit = 8
    /// How long a reaction, edit or delete naming a message not seen yet is left for the app to redeliver
    /// (webhooks can arrive out of order) before the sender is told it failed with `routing.unknown_target`.
    public var referenceWaitSeconds = 60
    /// Pairwise keys kept in memory (~0.6 KiB each); beyond that the least recently used pairs are re-established
    /// when next used (one X25519 each), so memory does not grow with the number of conversations.
    public var pairCacheEntries = 10_000
    /// Local users' keys, remote users' bundles and stored contacts kept in memory (each cache up to this many,
    /// ≤ 1 KiB an entry); the rest are read from the store when used, so memory does not grow with the number of
    /// known users.
    public var keyCacheEntries = 10_000
    /// Envelopes queued for one peer (outbox) or from one peer (inbox) before the node pushes back with 503 and
    /// Retry-After (webhooks from the app, transactions from the peer), so a slow peer or app fills neither memory
    /// nor the disk without bound.
    public var maxQueuePerPeer = 100_000
    /// While messages are flowing, how long the federation sender and the egress worker let more of them gather after
    /// a wake-up before they claim (0, the default: claim at once). At a steady moderate rate this turns a claim, a
    /// transaction and their commits per webhook into one per few webhooks, for a few percent less CPU per message
    /// and that much more latency at two stages; a message arriving after a quiet spell never waits.
    public var batchLingerMilliseconds = 0
    public init() {}
}

/// A whole node config, validated.
public struct NodeConfig: Sendable {
    public var file: String
    public var domain: String
    public var listen: HostPort
    /// The URL peers use to reach this node.
    public var publicURL: String
    public var dataDirectory: String
    public var signingKeyFile: String
    /// Create the signing key file if it is missing (demo and first start).
    public var createSigningKey: Bool
    public var tenants: [TenantConfig]
    public var peers: [PeerConfig]
    public var limits: Limits
    public var logLevel: String
    public var logFormat: String
    public var metricsEnabled: Bool

    /// Reads and validates a config file. Relative paths in it are relative to the file's directory.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> NodeConfig {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(code: "config.unreadable", file: path, key: "", problem: "cannot read the file (missing, unreadable or not UTF-8)")
        }
        return try parse(text, file: path, environment: environment)
    }

    /// Parses config text; `file` names it in errors and anchors relative paths.
    public static func parse(_ text: String, file: String, environment: [String: String] = [:]) throws(ConfigError) -> NodeConfig {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigError(code: "config.syntax", file: file, key: "", problem: "TOML syntax error at line \(error.source.begin.line), column \(error.source.begin.column): \(error.description)")
        } catch {
            throw ConfigError(code: "config.syntax", file: file, key: "", problem: "TOML syntax error: \(error)")
        }
        let reader = ConfigReader(file: file, base: (file as NSString).deletingLastPathComponent, environment: environment)
        return try reader.node(table)
    }
}

/// Walks the TOML tree, keeping the dotted key path for errors.
struct ConfigReader {
    var file: String
    var base: String
    var environment: [String: String]

    func fail(_ key: String, _ problem: String, code: String = "config.invalid") -> ConfigError {
        ConfigError(code: code, file: file, key: key, problem: problem)
    }

    func path(_ value: String) -> String {
        value.hasPrefix("/") || base.isEmpty ? value : base + "/" + value
    }

    func table(_ t: TOMLTable, _ key: String, at prefix: String, required: Bool = true) throws(ConfigError) -> TOMLTable? {
        guard let value = t[key] else {
            if required { throw fail(join(prefix, key), "missing table", code: "config.missing_key") }
            return nil
        }
        guard let sub = value.table else { throw fail(join(prefix, key), "must be a table", code: "config.wrong_type") }
        return sub
    }

    func string(_ t: TOMLTable, _ key: String, at prefix: String) throws(ConfigError) -> String {
        guard let value = try optionalString(t, key, at: prefix) else {
            throw fail(join(prefix, key), "missing (a string is required)", code: "config.missing_key")
        }
        return value
    }

    func optionalString(_ t: TOMLTable, _ key: String, at prefix: String) throws(ConfigError) -> String? {
        guard let value = t[key] else { return nil }
        guard let s = value.string else { throw fail(join(prefix, key), "must be a string", code: "config.wrong_type") }
        guard !s.isEmpty else { throw fail(join(prefix, key), "must not be empty") }
        return s
    }

    func int(_ t: TOMLTable, _ key: String, at prefix: String, default value: Int, range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard let raw = t[key] else { return value }
        guard let i = raw.int else { throw fail(join(prefix, key), "must be an integer", code: "config.wrong_type") }
        guard range.contains(i) else { throw fail(join(prefix, key), "must be between \(range.lowerBound) and \(range.upperBound), got \(i)") }
        return i
    }

    func double(_ t: TOMLTable, _ key: String, at prefix: String, default value: Double) throws(ConfigError) -> Double {
        guard let raw = t[key] else { return value }
        if let d = raw.double, d >= 0 { return d }
        if let i = raw.int, i >= 0 { return Double(i) }
        throw fail(join(prefix, key), "must be a non-negative number", code: "config.wrong_type")
    }

    func bool(_ t: TOMLTable, _ key: String, at prefix: String, default value: Bool) throws(ConfigError) -> Bool {
        guard let raw = t[key] else { return value }
        guard let b = raw.bool else { throw fail(join(prefix, key), "must be true or false", code: "config.wrong_type") }
        return b
    }

    func strings(_ t: TOMLTable, _ key: String, at prefix: String) throws(ConfigError) -> [String]? {
        guard let raw = t[key] else { return nil }
        guard let array = raw.array else { throw fail(join(prefix, key), "must be an array of strings", code: "config.wrong_type") }
        var result: [String] = []
        for (index, element) in array.enumerated() {
            guard let s = element.string else { throw fail("\(join(prefix, key))[\(index)]", "must be a string", code: "config.wrong_type") }
            result.append(s)
        }
        return result
    }

    /// A secret given inline (`key`), from the environment (`key_env`) or from a file (`key_file`): exactly one.
    func secret(_ t: TOMLTable, _ key: String, at prefix: String, required: Bool = true) throws(ConfigError) -> Secret {
        let inline = try optionalString(t, key, at: prefix)
        let env = try optionalString(t, key + "_env", at: prefix)
        let file = try optionalString(t, key + "_file", at: prefix)
        let given = [inline, env, file].compactMap { $0 }.count
        if given > 1 { throw fail(join(prefix, key), "give only one of \(key), \(key)_env and \(key)_file") }
        if let inline { return Secret(inline) }
        if let env {
            guard let value = environment[env], !value.isEmpty else {
                throw fail(join(prefix, key + "_env"), "environment variable \(env) is not set", code: "config.missing_secret")
            }
            return Secret(value)
        }
        if let file {
            let full = path(file)
            guard let data = FileManager.default.contents(atPath: full), let text = String(data: data, encoding: .utf8) else {
                throw fail(join(prefix, key + "_file"), "cannot read \(full)", code: "config.missing_secret")
            }
            let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !value.isEmpty else { throw fail(join(prefix, key + "_file"), "\(full) is empty", code: "config.missing_secret") }
            return Secret(value)
        }
        if required { throw fail(join(prefix, key), "missing (give \(key), \(key)_env or \(key)_file)", code: "config.missing_key") }
        return Secret("")
    }

    func hostPort(_ value: String, key: String) throws(ConfigError) -> HostPort {
        guard let colon = value.lastIndex(of: ":"), let port = Int(value[value.index(after: colon)...]), (0...65535).contains(port) else {
            throw fail(key, "must be host:port, got \"\(value)\"")
        }
        let host = String(value[..<colon])
        guard !host.isEmpty else { throw fail(key, "must be host:port, got \"\(value)\"") }
        return HostPort(host: host, port: port)
    }

    func url(_ value: String, key: String) throws(ConfigError) -> String {
        guard let parsed = URL(string: value), let scheme = parsed.scheme, ["http", "https"].contains(scheme), parsed.host != nil else {
            throw fail(key, "must be an http(s) URL, got \"\(value)\"")
        }
        return value.hasSuffix("/") ? String(value.dropLast()) : value
    }

    func domain(_ value: String, key: String) throws(ConfigError) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789.-")
        guard !value.isEmpty, value.lowercased() == value, value.allSatisfy({ allowed.contains($0) }), !value.hasPrefix("."), !value.hasSuffix(".") else {
            throw fail(key, "must be a lowercase domain name, got \"\(value)\"")
        }
        return value
    }

    func node(_ root: TOMLTable) throws(ConfigError) -> NodeConfig {
        guard let node = try table(root, "node", at: "") else { throw fail("node", "missing table") }
        let domain = try self.domain(try string(node, "domain", at: "node"), key: "node.domain")
        let listen = try hostPort(try string(node, "listen", at: "node"), key: "node.listen")
        let publicURL = try url(try optionalString(node, "public_url", at: "node") ?? "http://\(listen)", key: "node.public_url")
        let dataDirectory = path(try string(node, "data_dir", at: "node"))
        let signingKeyFile = path(try string(node, "signing_key_file", at: "node"))
        let createSigningKey = try bool(node, "create_signing_key", at: "node", default: false)

        var limits = Limits()
        if let l = try table(root, "limits", at: "", required: false) {
            limits.maxWebhookBodyBytes = try int(l, "max_webhook_body_bytes", at: "limits", default: limits.maxWebhookBodyBytes, range: 1024...(64 << 20))
            limits.maxTransactionBytes = try int(l, "max_transaction_bytes", at: "limits", default: limits.maxTransactionBytes, range: 1024...(256 << 20))
            limits.maxEnvelopesPerTransaction = try int(l, "max_envelopes_per_transaction", at: "limits", default: limits.maxEnvelopesPerTransaction, range: 1...10_000)
            limits.clockSkewSeconds = try int(l, "clock_skew_seconds", at: "limits", default: limits.clockSkewSeconds, range: 1...3600)
            limits.messageTTLSeconds = try int(l, "message_ttl_seconds", at: "limits", default: limits.messageTTLSeconds, range: 1...(30 * 86_400))
            limits.retryBaseMilliseconds = try int(l, "retry_base_ms", at: "limits", default: limits.retryBaseMilliseconds, range: 1...60_000)
            limits.retryMaxMilliseconds = try int(l, "retry_max_ms", at: "limits", default: limits.retryMaxMilliseconds, range: 1...3_600_000)
            limits.nativeRetryLimit = try int(l, "native_retry_limit", at: "limits", default: limits.nativeRetryLimit, range: 0...100)
            limits.referenceWaitSeconds = try int(l, "reference_wait_seconds", at: "limits", default: limits.referenceWaitSeconds, range: 0...86_400)
            limits.pairCacheEntries = try int(l, "pair_cache_entries", at: "limits", default: limits.pairCacheEntries, range: 8...10_000_000)
            limits.keyCacheEntries = try int(l, "key_cache_entries", at: "limits", default: limits.keyCacheEntries, range: 8...10_000_000)
            limits.maxQueuePerPeer = try int(l, "max_queue_per_peer", at: "limits", default: limits.maxQueuePerPeer, range: 1...100_000_000)
            limits.batchLingerMilliseconds = try int(l, "batch_linger_ms", at: "limits", default: limits.batchLingerMilliseconds, range: 0...1_000)
        }

        var logLevel = "info", logFormat = "text", metricsEnabled = true
        if let logging = try table(root, "logging", at: "", required: false) {
            logLevel = try optionalString(logging, "level", at: "logging") ?? logLevel
            guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(logLevel) else {
                throw fail("logging.level", "must be one of trace, debug, info, notice, warning, error, critical")
            }
            logFormat = try optionalString(logging, "format", at: "logging") ?? logFormat
            guard ["text", "json"].contains(logFormat) else { throw fail("logging.format", "must be text or json") }
        }
        if let metrics = try table(root, "metrics", at: "", required: false) {
            metricsEnabled = try bool(metrics, "enabled", at: "metrics", default: true)
        }

        var peers: [PeerConfig] = []
        if let raw = root["peers"] {
            guard let array = raw.array else { throw fail("peers", "must be an array of tables ([[peers]])", code: "config.wrong_type") }
            for (index, element) in array.enumerated() {
                let prefix = "peers[\(index)]"
                guard let p = element.table else { throw fail(prefix, "must be a table", code: "config.wrong_type") }
                let peerDomain = try self.domain(try string(p, "domain", at: prefix), key: prefix + ".domain")
                let key = try string(p, "signing_key", at: prefix)
                guard let keyBytes = Data(base64Encoded: key), keyBytes.count == 32 else {
                    throw fail(prefix + ".signing_key", "must be a base64 Ed25519 public key (32 bytes)")
                }
                let serves = try strings(p, "serves", at: prefix) ?? [peerDomain]
                peers.append(PeerConfig(domain: peerDomain, url: try url(try string(p, "url", at: prefix), key: prefix + ".url"), signingKey: key, serves: serves))
            }
        }
        var seenPeers = Set<String>()
        for (index, peer) in peers.enumerated() where !seenPeers.insert(peer.domain).inserted {
            throw fail("peers[\(index)].domain", "\(peer.domain) is configured twice")
        }

        guard let rawTenants = root["tenants"]?.array, !rawTenants.isEmpty else {
            throw fail("tenants", "at least one [[tenants]] table is required", code: "config.missing_key")
        }
        var tenants: [TenantConfig] = []
        for (index, element) in rawTenants.enumerated() {
            let prefix = "tenants[\(index)]"
            guard let t = element.table else { throw fail(prefix, "must be a table", code: "config.wrong_type") }
            tenants.append(try tenant(t, prefix: prefix, nodeDomain: domain, peers: peers))
        }
        var names = Set<String>(), domains = Set<String>()
        for (index, tenant) in tenants.enumerated() {
            if !names.insert(tenant.name).inserted { throw fail("tenants[\(index)].name", "\(tenant.name) is used twice") }
            if !domains.insert(tenant.domain).inserted { throw fail("tenants[\(index)].domain", "\(tenant.domain) is used twice") }
        }
        return NodeConfig(
            file: file, domain: domain, listen: listen, publicURL: publicURL, dataDirectory: dataDirectory,
            signingKeyFile: signingKeyFile, createSigningKey: createSigningKey, tenants: tenants, peers: peers,
            limits: limits, logLevel: logLevel, logFormat: logFormat, metricsEnabled: metricsEnabled
        )
    }

    func tenant(_ t: TOMLTable, prefix: String, nodeDomain: String, peers: [PeerConfig]) throws(ConfigError) -> TenantConfig {
        let name = try string(t, "name", at: prefix)
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw fail(prefix + ".name", "may contain only letters, digits, - and _ (it appears in URLs)")
        }
        let tenantDomain = try self.domain(try optionalString(t, "domain", at: prefix) ?? nodeDomain, key: prefix + ".domain")
        let adapter: AdapterSource
        let named = try optionalString(t, "adapter", at: prefix)
        let library = try optionalString(t, "adapter_library", at: prefix)
        let command = try strings(t, "adapter_command", at: prefix)
        switch (named, library, command) {
        case (let n?, nil, nil): adapter = .named(n)
        case (nil, let l?, nil): adapter = .library(path(l))
        case (nil, nil, let c?) where !c.isEmpty: adapter = .command(c)
        default: throw fail(prefix + ".adapter", "give exactly one of adapter (a bundled name), adapter_library (a path) or adapter_command (an array)")
        }
        let apiBaseURL = try url(try string(t, "api_base_url", at: prefix), key: prefix + ".api_base_url")
        var contacts: [Contact] = []
        if let raw = t["contacts"] {
            guard let array = raw.array else { throw fail(prefix + ".contacts", "must be an array of tables", code: "config.wrong_type") }
            for (index, element) in array.enumerated() {
                let cp = "\(prefix).contacts[\(index)]"
                guard let c = element.table else { throw fail(cp, "must be a table", code: "config.wrong_type") }
                let remote = try string(c, "remote", at: cp)
                guard MIMIAddress(remote) != nil else { throw fail(cp + ".remote", "must be a MIMI user URI mimi://<domain>/u/<user>, got \"\(remote)\"") }
                contacts.append(Contact(account: try string(c, "account", at: cp), remote: remote))
            }
        }
        var policy = Policy()
        if let p = try table(t, "policy", at: prefix, required: false) {
            let pp = prefix + ".policy"
            if let allowed = try strings(p, "allowed_peers", at: pp) { policy.allowedPeers = Set(allowed) }
            policy.deniedPeers = Set(try strings(p, "denied_peers", at: pp) ?? [])
            policy.requireConsent = try bool(p, "require_consent", at: pp, default: true)
            if let kinds = try strings(p, "accepted_kinds", at: pp) {
                var set = Set<BridgeEvent.Kind>()
                for (i, k) in kinds.enumerated() {
                    guard let kind = BridgeEvent.Kind(rawValue: k), [.message, .edit, .delete, .reaction, .receipt, .typing].contains(kind) else {
                        throw fail("\(pp).accepted_kinds[\(i)]", "unknown kind \"\(k)\" (message, edit, delete, reaction, receipt, typing)")
                    }
                    set.insert(kind)
                }
                policy.acceptedKinds = set
            }
            policy.maxTextBytes = try int(p, "max_text_bytes", at: pp, default: policy.maxTextBytes, range: 1...(1 << 20))
            policy.maxAttachments = try int(p, "max_attachments", at: pp, default: policy.maxAttachments, range: 0...100)
            policy.ratePerPeer = try double(p, "rate_per_peer", at: pp, default: policy.ratePerPeer)
            policy.rateBurst = try double(p, "rate_burst", at: pp, default: policy.rateBurst)
            policy.retentionDays = try double(p, "retention_days", at: pp, default: policy.retentionDays)
        }
        let known = Set(peers.flatMap(\.serves))
        for peer in policy.allowedPeers ?? [] where !known.contains(peer) && peer != tenantDomain {
            throw fail(prefix + ".policy.allowed_peers", "\(peer) is not served by any configured peer")
        }
        return TenantConfig(
            name: name, domain: tenantDomain, adapter: adapter, apiBaseURL: apiBaseURL,
            webhookSecret: try secret(t, "webhook_secret", at: prefix),
            verifyToken: try secret(t, "verify_token", at: prefix, required: false),
            accessToken: try secret(t, "access_token", at: prefix),
            contacts: contacts, policy: policy
        )
    }

    func join(_ prefix: String, _ key: String) -> String { prefix.isEmpty ? key : prefix + "." + key }
}
