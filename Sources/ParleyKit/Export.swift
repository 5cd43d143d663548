import CParleyABI
import Foundation

/// The newest ABI version this ParleyKit speaks (`PARLEY_ABI_VERSION` of `parley_adapter.h`). Version 2 returns
/// `encode`'s requests as a binary list; version 1 as JSON.
public let parleyABIVersion: UInt32 = 2

/// The oldest ABI version this ParleyKit still speaks (`PARLEY_ABI_OLDEST_VERSION`): hosts and adapters built
/// with it work with peers built against any version from this one to ``parleyABIVersion``.
public let parleyOldestABIVersion: UInt32 = 1

/// The ABI versions this ParleyKit speaks.
public let parleyABIVersions = parleyOldestABIVersion...parleyABIVersion

/// The symbol every adapter library exports.
public let parleyAdapterEntrySymbol = "parley_adapter_v1"

/// Status codes of the C ABI (`parley_status` in `parley_adapter.h`).
public enum ParleyABIStatus: Int32, Sendable {
    case ok = 0
    case adapterError = 1
    case badArgument = -1
    case abiMismatch = -2
    case internalFailure = -3
}

/// Holds the exported adapter. Retained once per export and never released: adapters are never unloaded.
private final class ExportedAdapter: Sendable {
    let adapter: any Adapter
    /// The version negotiated with the host: what `encode` answers in.
    let abiVersion: UInt32
    init(_ adapter: any Adapter, abiVersion: UInt32) {
        self.adapter = adapter
        self.abiVersion = abiVersion
    }
}

private func exported(_ context: UnsafeMutableRawPointer?) -> ExportedAdapter? {
    guard let context else { return nil }
    return Unmanaged<ExportedAdapter>.fromOpaque(context).takeUnretainedValue()
}

/// Copies bytes into a `malloc`ed buffer the host later gives back to `free_buffer`.
private func deliver(
    _ bytes: [UInt8], _ out: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
    _ outLen: UnsafeMutablePointer<Int>?
) -> Bool {
    guard let out, let outLen else { return false }
    out.pointee = nil
    outLen.pointee = 0
    guard !bytes.isEmpty else { return true }
    guard let buffer = malloc(bytes.count)?.assumingMemoryBound(to: UInt8.self) else { return false }
    bytes.withUnsafeBufferPointer { buffer.update(from: $0.baseAddress!, count: bytes.count) }
    out.pointee = buffer
    outLen.pointee = bytes.count
    return true
}

/// Runs one adapter call and writes its result (or its AdapterError) to the out buffer: `encoded` turns the
/// result into bytes (JSON unless the call's answer has a binary form in the negotiated version).
private func respond<T: Encodable>(
    _ out: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?, _ outLen: UnsafeMutablePointer<Int>?,
    encoded: (T) throws(AdapterError) -> [UInt8] = { (value: T) throws(AdapterError) in try ABICoding.encode(value) },
    _ body: () throws(AdapterError) -> T
) -> Int32 {
    guard out != nil, outLen != nil else { return ParleyABIStatus.badArgument.rawValue }
    do {
        let bytes = try encoded(try body())
        return deliver(bytes, out, outLen) ? ParleyABIStatus.ok.rawValue : ParleyABIStatus.internalFailure.rawValue
    } catch {
        guard let bytes = try? ABICoding.encode(error), deliver(bytes, out, outLen) else {
            return ParleyABIStatus.internalFailure.rawValue
        }
        return ParleyABIStatus.adapterError.rawValue
    }
}

private func bytes(_ pointer: UnsafePointer<UInt8>?, _ count: Int) -> [UInt8]? {
    guard count > 0 else { return [] }
    guard let pointer else { return nil }
    return Array(UnsafeBufferPointer(start: pointer, count: count))
}

/// Fills the host's function table with `adapter`. Returns 0 on success, a negative ABI error code otherwise.
///
/// Adapter authors call it from their one-line entry point:
/// ```swift
/// @_cdecl("parley_adapter_v1")
/// public func parleyAdapterEntry(_ hostVersion: UInt32, _ table: UnsafeMutableRawPointer?) -> Int32 {
///     parleyExport(MyAdapter(), hostVersion: hostVersion, into: table)
/// }
/// ```
/// `table` points to a `parley_adapter_v1_table`. The adapter serves exactly `hostVersion` when it is one of
/// ``parleyABIVersions`` (`abi_version` then answers it). Otherwise the table still gets `struct_size` and
/// `abi_version`, answering ``parleyABIVersion``, so the host can try that version or say which versions disagree.
public func parleyExport(_ adapter: some Adapter, hostVersion: UInt32, into table: UnsafeMutableRawPointer?) -> Int32 {
    guard let table else { return ParleyABIStatus.badArgument.rawValue }
    let t = table.assumingMemoryBound(to: parley_adapter_v1_table.self)
    t.pointee = parley_adapter_v1_table()
    t.pointee.struct_size = UInt32(MemoryLayout<parley_adapter_v1_table>.size)
    t.pointee.abi_version = { context in exported(context)?.abiVersion ?? parleyABIVersion }
    guard parleyABIVersions.contains(hostVersion) else { return ParleyABIStatus.abiMismatch.rawValue }

    t.pointee.context = Unmanaged.passRetained(ExportedAdapter(adapter, abiVersion: hostVersion)).toOpaque()
    t.pointee.name = { context, out, outLen in
        guard let adapter = exported(context)?.adapter else { return ParleyABIStatus.badArgument.rawValue }
        return deliver(Array(adapter.name.utf8), out, outLen)
            ? ParleyABIStatus.ok.rawValue : ParleyABIStatus.badArgument.rawValue
    }
    t.pointee.describe = { context, out, outLen in
        guard let adapter = exported(context)?.adapter else { return ParleyABIStatus.badArgument.rawValue }
        return respond(out, outLen) { adapter.capabilities }
    }
    t.pointee.decode = { context, payload, payloadLen, out, outLen in
        guard let adapter = exported(context)?.adapter, let input = bytes(payload, payloadLen) else {
            return ParleyABIStatus.badArgument.rawValue
        }
        return respond(out, outLen) { () throws(AdapterError) in try adapter.decode(input) }
    }
    t.pointee.encode = { context, event, eventLen, out, outLen in
        guard let served = exported(context), let input = bytes(event, eventLen) else {
            return ParleyABIStatus.badArgument.rawValue
        }
        let version = served.abiVersion
        return respond(out, outLen, encoded: { ABICoding.encodeRequests($0, abiVersion: version) }) { () throws(AdapterError) in
            try served.adapter.encode(try ABICoding.decodeEvent(input))
        }
    }
    t.pointee.decode_send_response = { context, status, body, bodyLen, out, outLen in
        guard let adapter = exported(context)?.adapter, let input = bytes(body, bodyLen) else {
            return ParleyABIStatus.badArgument.rawValue
        }
        return respond(out, outLen) { () throws(AdapterError) in
            try adapter.decodeSendResponse(status: Int(status), body: input)
        }
    }
    t.pointee.free_buffer = { _, buffer, _ in free(buffer) }
    return ParleyABIStatus.ok.rawValue
}
