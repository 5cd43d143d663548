import CParleyABI
import Foundation
import Synchronization

/// Why an adapter could not be loaded or registered; each case has a stable code.
public struct AdapterLoadError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// No file at the configured path.
        public static let fileMissing = Code(rawValue: "loader.file_missing")
        /// The file is not a loadable library, or it does not export `parley_adapter_v1`.
        public static let notAnAdapter = Code(rawValue: "loader.not_an_adapter")
        /// The adapter was built against another ABI version than this host.
        public static let abiMismatch = Code(rawValue: "loader.abi_mismatch")
        /// Another adapter with the same name is already registered.
        public static let duplicateName = Code(rawValue: "loader.duplicate_name")
        /// The adapter's entry point failed or its name/capabilities could not be read.
        public static let initializationFailed = Code(rawValue: "loader.initialization_failed")
        /// A child-process adapter could not be started or did not complete its handshake.
        public static let launchFailed = Code(rawValue: "loader.launch_failed")
        /// A name given on the command line or in a config is neither a known adapter nor a path.
        public static let unknownAdapter = Code(rawValue: "loader.unknown_adapter")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}

/// An adapter living in a shared library, called through its `parley_adapter_v1_table`.
///
/// Every call copies bytes in, lets the adapter answer in its own buffer, copies the answer out and hands the
/// buffer back to the adapter's `free_buffer`.
public struct LoadedAdapter: Adapter {
    public let name: String
    public let capabilities: AdapterCapabilities
    /// The library the adapter was loaded from.
    public let path: String
    /// The ABI version negotiated with the library (one of ``parleyABIVersions``).
    public let abiVersion: UInt32
    private let table: Table

    /// The table is written once by the adapter's entry point and only read afterwards; the adapter promises
    /// thread-safe functions (the header's contract), so sharing it across threads is safe.
    private struct Table: @unchecked Sendable {
        var raw: parley_adapter_v1_table
    }

    fileprivate init(table: parley_adapter_v1_table, path: String, abiVersion: UInt32) throws(AdapterLoadError) {
        let t = Table(raw: table)
        guard let nameFn = table.name, let describe = table.describe, table.decode != nil, table.encode != nil,
              table.decode_send_response != nil, table.free_buffer != nil
        else {
            throw AdapterLoadError(.initializationFailed, "\(path): the adapter left functions of its table empty")
        }
        let nameBytes: [UInt8]
        let capsBytes: [UInt8]
        do {
            nameBytes = try Self.call(t) { out, len in nameFn(table.context, out, len) }
            capsBytes = try Self.call(t) { out, len in describe(table.context, out, len) }
        } catch {
            throw AdapterLoadError(.initializationFailed, "\(path): \(error.message)")
        }
        guard let name = String(validating: nameBytes, as: UTF8.self), !name.isEmpty else {
            throw AdapterLoadError(.initializationFailed, "\(path): the adapter's name is empty or not UTF-8")
        }
        do {
            self.capabilities = try ABICoding.decode(AdapterCapabilities.self, from: capsBytes, what: "capabilities")
        } catch {
            throw AdapterLoadError(.initializationFailed, "\(path): \(error.message)")
        }
        self.name = name
        self.path = path
        self.abiVersion = abiVersion
        self.table = t
    }

    /// Calls one table function and turns its status and buffer into bytes or an AdapterError.
    private static func call(
        _ table: Table,
        _ body: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>, UnsafeMutablePointer<Int>) -> Int32
    ) throws(AdapterError) -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>? = nil
        var len = 0
        let status = body(&out, &len)
        var result: [UInt8] = []
        if let out, len > 0 { result = Array(UnsafeBufferPointer(start: out, count: len)) }
        if out != nil { table.raw.free_buffer?(table.raw.context, out, len) }
        switch ParleyABIStatus(rawValue: status) {
        case .ok: return result
        case .adapterError: throw ABICoding.decodeError(result)
        default: throw AdapterError(.internalFailure, "the adapter call failed with ABI status \(status)")
        }
    }

    private func withInput<R>(
        _ input: [UInt8],
        _ body: (UnsafePointer<UInt8>?, Int, UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>, UnsafeMutablePointer<Int>) -> Int32,
        what: String, as type: R.Type
    ) throws(AdapterError) -> R where R: Decodable {
        let result = try Self.call(table) { out, len in
            input.withUnsafeBufferPointer { body($0.baseAddress, $0.count, out, len) }
        }
        return try ABICoding.decode(R.self, from: result, what: what)
    }

    public func decode(_ payload: [UInt8]) throws(AdapterError) -> [BridgeEvent] {
        let raw = table.raw
        return try withInput(payload, { p, n, out, len in raw.decode!(raw.context, p, n, out, len) },
                             what: "event list", as: [BridgeEvent].self)
    }

    public func encode(_ event: BridgeEvent) throws(AdapterError) -> [NativeRequest] {
        let raw = table.raw
        return try withInput(try ABICoding.encode(event), { p, n, out, len in raw.encode!(raw.context, p, n, out, len) },
                             what: "request list", as: [NativeRequest].self)
    }

    public func decodeSendResponse(status: Int, body: [UInt8]) throws(AdapterError) -> SendOutcome {
        let raw = table.raw
        let code = Int32(clamping: status)
        return try withInput(body, { p, n, out, len in raw.decode_send_response!(raw.context, code, p, n, out, len) },
                             what: "send outcome", as: SendOutcome.self)
    }
}

/// Loads adapter libraries with `dlopen(RTLD_NOW | RTLD_LOCAL)`. Libraries are never unloaded: an adapter's code
/// must stay mapped as long as any of its values or buffers may be in use.
public enum AdapterLoader {
    /// Loads the adapter library at `path`, speaking the newest ABI version both sides know.
    /// - Parameter hostVersions: the ABI versions to offer; tests pass others to check negotiation and refusal.
    public static func load(path: String, hostVersions: ClosedRange<UInt32> = parleyABIVersions) throws(AdapterLoadError) -> LoadedAdapter {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw AdapterLoadError(.fileMissing, "no adapter library at \(path)")
        }
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown dlopen failure"
            throw AdapterLoadError(.notAnAdapter, "\(path) is not a loadable library: \(reason)")
        }
        _ = dlerror()
        guard let symbol = dlsym(handle, parleyAdapterEntrySymbol) else {
            let reason = dlerror().map { String(cString: $0) } ?? "symbol not found"
            throw AdapterLoadError(.notAnAdapter,
                                   "\(path) is not a Parley adapter: it does not export \(parleyAdapterEntrySymbol) (\(reason))")
        }
        return try load(entry: unsafeBitCast(symbol, to: parley_adapter_v1_entry.self), path: path, hostVersions: hostVersions)
    }

    /// Negotiates with an adapter's entry point: offers the newest of `hostVersions`; when the adapter answers with
    /// another version it speaks (older, say) that the host speaks too, offers that one instead.
    static func load(entry: parley_adapter_v1_entry, path: String, hostVersions: ClosedRange<UInt32>) throws(AdapterLoadError) -> LoadedAdapter {
        var offered = hostVersions.upperBound
        var table = parley_adapter_v1_table()
        var status = entry(offered, &table)
        if ParleyABIStatus(rawValue: status) == .abiMismatch, let theirs = table.abi_version?(table.context),
           theirs != offered, hostVersions.contains(theirs) {
            offered = theirs
            table = parley_adapter_v1_table()
            status = entry(offered, &table)
        }
        switch ParleyABIStatus(rawValue: status) {
        case .ok:
            break
        case .abiMismatch:
            let theirs = table.abi_version.map { String($0(table.context)) } ?? "unknown"
            throw AdapterLoadError(.abiMismatch,
                                   "\(path) speaks adapter ABI version \(theirs) but this host speaks \(Self.describe(hostVersions)); rebuild the adapter with this Parley release")
        default:
            throw AdapterLoadError(.initializationFailed, "\(path): \(parleyAdapterEntrySymbol) failed with status \(status)")
        }
        guard let abiVersion = table.abi_version?(table.context), abiVersion == offered else {
            throw AdapterLoadError(.abiMismatch,
                                   "\(path) reports an adapter ABI version other than the \(offered) it was offered")
        }
        return try LoadedAdapter(table: table, path: path, abiVersion: abiVersion)
    }

    /// "2" or "1 to 2".
    static func describe(_ versions: ClosedRange<UInt32>) -> String {
        versions.count == 1 ? "\(versions.lowerBound)" : "\(versions.lowerBound) to \(versions.upperBound)"
    }
}

/// The adapters a host has loaded, by name. Names are unique: a second adapter with a taken name is refused.
public final class AdapterRegistry: Sendable {
    private let adapters = Mutex<[String: any Adapter]>([:])

    public init() {}

    /// Adds `adapter` under its name.
    /// - Throws: ``AdapterLoadError/Code/duplicateName`` when the name is already taken.
    public func register(_ adapter: any Adapter) throws(AdapterLoadError) {
        let name = adapter.name
        let added = adapters.withLock { table -> Bool in
            guard table[name] == nil else { return false }
            table[name] = adapter
            return true
        }
        guard added else {
            throw AdapterLoadError(.duplicateName, "an adapter named \"\(name)\" is already registered; adapter names must be unique")
        }
    }

    /// The adapter registered under `name`.
    public func adapter(named name: String) -> (any Adapter)? {
        adapters.withLock { $0[name] }
    }

    /// Registered names, sorted.
    public var names: [String] {
        adapters.withLock { $0.keys.sorted() }
    }
}
