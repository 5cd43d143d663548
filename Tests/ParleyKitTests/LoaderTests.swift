import CParleyABI
import Foundation
@testable import ParleyKit
import Testing
import ExampleAdapter

@Suite struct LoaderTests {
    private func loadError(_ path: String, hostVersion: UInt32 = parleyABIVersion) -> AdapterLoadError? {
        do {
            _ = try AdapterLoader.load(path: path, hostVersion: hostVersion)
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

    @Test func anotherHostVersionIsRefusedNamingBothVersions() {
        let error = loadError(TestPaths.exampleLibrary, hostVersion: 2)
        #expect(error?.code == .abiMismatch)
        #expect(error?.message.contains("version 1") == true)
        #expect(error?.message.contains("speaks 2") == true)
    }

    @Test func exportRefusesAnotherVersionButStillSaysItsOwn() {
        var table = parley_adapter_v1_table()
        let status = withUnsafeMutableBytes(of: &table) { parleyExport(ExampleAdapter(), hostVersion: 99, into: $0.baseAddress) }
        #expect(status == ParleyABIStatus.abiMismatch.rawValue)
        #expect(table.abi_version?(table.context) == 1)
        #expect(table.decode == nil, "no functions are handed to a host of another version")
        #expect(parleyExport(ExampleAdapter(), hostVersion: 1, into: nil) == ParleyABIStatus.badArgument.rawValue)
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

