import CParleyABI
import Foundation
@testable import ParleyKit
import Testing
import ExampleAdapter

@Suite struct LoaderTests {
    private func loadError(_ path: String, hostVersions: ClosedRange<UInt32> = parleyABIVersions) -> AdapterLoadError? {
        do {
            _ = try AdapterLoader.load(path: path, hostVersions: hostVersions)
            return nil
        } catch {
            return error
        }
    }

    @Test func missingFileIsReportedAsSuch() {
        let error = loadError("/nonexistent/libNothing.so")
        #expect(error?.code == .fileMissing)
        #expect(error?.message.contains("/nonexistent/libNothing.so") == true)
    }

    @Test func aLibraryWithoutTheEntryPointIsNotAnAdapter() {
        let error = loadError("/lib/x86_64-linux-gnu/libc.so.6")
        #expect(error?.code == .notAnAdapter)
        #expect(error?.message.contains("parley_adapter_v1") == true)
    }

    @Test func aFileThatIsNotALibraryIsNotAnAdapterAndCarriesTheDlopenReason() throws {
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/libFake.so"
        try Data("this is not an ELF file".utf8).write(to: URL(fileURLWithPath: path))
        let error = loadError(path)
        #expect(error?.code == .notAnAdapter)
        #expect(error?.message.contains("not a loadable library") == true)
    }

    @Test func aDirectoryIsAMissingFile() throws {
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(loadError(dir)?.code == .fileMissing)
    }

    @Test func aHostSpeakingOnlyVersionsTheAdapterDoesNotIsRefusedNamingBoth() {
        let error = loadError(TestPaths.exampleLibrary, hostVersions: 3...3)
        #expect(error?.code == .abiMismatch)
        #expect(error?.message.contains("version 2") == true, "\(String(describing: error))")
        #expect(error?.message.contains("speaks 3") == true)
    }

    @Test func exportRefusesAnotherVersionButStillSaysItsNewest() {
        var table = parley_adapter_v1_table()
        let status = withUnsafeMutableBytes(of: &table) { parleyExport(ExampleAdapter(), hostVersion: 99, into: $0.baseAddress) }
        #expect(status == ParleyABIStatus.abiMismatch.rawValue)
        #expect(table.abi_version?(table.context) == parleyABIVersion)
        #expect(table.decode == nil, "no functions are handed to a host of another version")
        #expect(parleyExport(ExampleAdapter(), hostVersion: 1, into: nil) == ParleyABIStatus.badArgument.rawValue)
    }

    /// A sample event the example adapter encodes into one request.
    private func sampleEvent() throws -> BridgeEvent {
        try #require(try ExampleAdapter().decode(try TestPaths.fixture("text.json")).first)
    }

    /// What `encode` hands back through a table filled for `hostVersion`, as raw bytes.
    private func rawEncode(_ event: BridgeEvent, hostVersion: UInt32) throws -> [UInt8] {
        var table = parley_adapter_v1_table()
        let status = withUnsafeMutableBytes(of: &table) { parleyExport(ExampleAdapter(), hostVersion: hostVersion, into: $0.baseAddress) }
        #expect(status == ParleyABIStatus.ok.rawValue)
        #expect(table.abi_version?(table.context) == hostVersion)
        let input = try ABICoding.encode(event)
        var out: UnsafeMutablePointer<UInt8>? = nil
        var length = 0
        let encoded = input.withUnsafeBufferPointer { table.encode?(table.context, $0.baseAddress, $0.count, &out, &length) }
        #expect(encoded == ParleyABIStatus.ok.rawValue)
        defer { table.free_buffer?(table.context, out, length) }
        return out.map { Array(UnsafeBufferPointer(start: $0, count: length)) } ?? []
    }

    @Test func requestsCrossAsABinaryListInVersion2AndAsJSONInVersion1() throws {
        let event = try sampleEvent()
        let expected = try ExampleAdapter().encode(event)
        let binary = try rawEncode(event, hostVersion: 2)
        #expect(binary.starts(with: ABICoding.requestListMagic))
        #expect(try ABICoding.decodeRequests(binary, what: "request list") == expected)
        let json = try rawEncode(event, hostVersion: 1)
        #expect(json.first == UInt8(ascii: "["))
        #expect(try ABICoding.decodeRequests(json, what: "request list") == expected)
    }

    @Test func aCurrentHostAndAdapterSpeakTheNewestVersion() throws {
        let loaded = try AdapterLoader.load(path: TestPaths.exampleLibrary)
        #expect(loaded.abiVersion == parleyABIVersion)
        let event = try sampleEvent()
        #expect(try loaded.encode(event) == (try ExampleAdapter().encode(event)))
    }

    @Test func aHostThatSpeaksOnlyVersion1IsServedVersion1() throws {
        let loaded = try AdapterLoader.load(path: TestPaths.exampleLibrary, hostVersions: 1...1)
        #expect(loaded.abiVersion == 1)
        let event = try sampleEvent()
        #expect(try loaded.encode(event) == (try ExampleAdapter().encode(event)))
    }

    @Test func anAdapterBuiltForVersion1IsLoadedInVersion1() throws {
        // What a version-1 ParleyKit's export does: anything but 1 is refused, naming 1.
        let versionOneOnly: parley_adapter_v1_entry = { hostVersion, table in
            guard hostVersion == 1 else {
                table?.pointee.struct_size = UInt32(MemoryLayout<parley_adapter_v1_table>.size)
                table?.pointee.abi_version = { _ in 1 }
                return ParleyABIStatus.abiMismatch.rawValue
            }
            return parleyExport(ExampleAdapter(), hostVersion: 1, into: UnsafeMutableRawPointer(table))
        }
        let loaded = try AdapterLoader.load(entry: versionOneOnly, path: "v1-only", hostVersions: parleyABIVersions)
        #expect(loaded.abiVersion == 1)
        let event = try sampleEvent()
        #expect(try loaded.encode(event) == (try ExampleAdapter().encode(event)))
        #expect(try loaded.decode(try TestPaths.fixture("text.json")) == (try ExampleAdapter().decode(try TestPaths.fixture("text.json"))))
    }

    @Test func registryRefusesASecondAdapterWithTheSameName() throws {
        let registry = AdapterRegistry()
        try registry.register(ExampleAdapter())
        do {
            try registry.register(try AdapterLoader.load(path: TestPaths.exampleLibrary))
            Issue.record("a duplicate name was accepted")
        } catch {
            #expect(error.code == .duplicateName)
            #expect(error.message.contains("\"example\""))
        }
        #expect(registry.names == ["example"])
        #expect(registry.adapter(named: "example") != nil)
    }

    @Test func loadingTheSameLibraryTwiceGivesWorkingAdapters() throws {
        let a = try AdapterLoader.load(path: TestPaths.exampleLibrary)
        let b = try AdapterLoader.load(path: TestPaths.exampleLibrary)
        let payload = try TestPaths.fixture("text.json")
        #expect(try a.decode(payload) == b.decode(payload))
    }

    @Test func builtInNamesResolveNextToTheExecutable() throws {
        #expect(try AdapterLocator.libraryPath(for: "whatsapp", directory: "/opt/parley") == "/opt/parley/libWhatsAppAdapter.so")
        #expect(try AdapterLocator.libraryPath(for: "Messenger", directory: "/d") == "/d/libMessengerAdapter.so")
        #expect(try AdapterLocator.libraryPath(for: "./x/libMine.so") == "./x/libMine.so")
        #expect(throws: AdapterLoadError.self) { try AdapterLocator.libraryPath(for: "telegram") }
        let loaded = try AdapterLocator.load(nameOrPath: "example", directory: TestPaths.productsDirectory)
        #expect(loaded.name == "example")
    }

    @Test func librariesAreToldApartFromCommands() throws {
        #expect(AdapterLocator.isLibraryPath("/x/libA.so"))
        #expect(AdapterLocator.isLibraryPath("/lib/x86_64-linux-gnu/libc.so.6"))
        #expect(!AdapterLocator.isLibraryPath("my-adapter --socket /x.so"))
        #expect(!AdapterLocator.isLibraryPath("/usr/bin/adapter"))
        do {
            _ = try AdapterLocator.open(libraryOrCommand: "/lib/x86_64-linux-gnu/libc.so.6")
            Issue.record("libc was accepted")
        } catch {
            #expect(error.code == .notAnAdapter, "a versioned .so is loaded, not executed")
        }
        let child = try AdapterLocator.open(libraryOrCommand: "'\(TestPaths.exampleChild)'")
        #expect(child is ChildProcessAdapter)
    }

    @Test func commandLinesSplitOnUnquotedWhitespace() {
        #expect(AdapterLocator.splitCommandLine(#"  run  "a b" 'c d'  e\ f "#) == ["run", "a b", "c d", "e f"])
        #expect(AdapterLocator.splitCommandLine(#"x """#) == ["x", ""])
        #expect(AdapterLocator.splitCommandLine("   ").isEmpty)
    }
}

