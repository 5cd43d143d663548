// Placeholder until the ABI lands: adapters call this from their one-line `@_cdecl("parley_adapter_v1")` entry.

/// Fills the host's function table with `adapter`. Returns 0 on success, a negative ABI error code otherwise.
public func parleyExport(_ adapter: some Adapter, hostVersion: UInt32, into table: UnsafeMutableRawPointer?) -> Int32 {
    -1
}
