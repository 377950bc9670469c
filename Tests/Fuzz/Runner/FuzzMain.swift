// zeroshot-fuzz: the libFuzzer entry points (a build with FUZZING defined, see scripts/fuzz), or, in any other debug
// build, a tool that replays inputs through a harness.
//
// Environment of the libFuzzer build: ZEROSHOT_FUZZ_TARGET=NAME picks the harness; ZEROSHOT_FUZZ_QUERY=list prints
// the harnesses and exits, ZEROSHOT_FUZZ_QUERY=settings what scripts/fuzz needs to run NAME (seeds, dictionary,
// -max_len).
#if DEBUG
import Foundation
import FuzzTargets

#if FUZZING
/// The harness this process fuzzes.
nonisolated(unsafe) private var selected: FuzzTarget?

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<Int32>,
                             _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    let environment = ProcessInfo.processInfo.environment
    let name = environment["ZEROSHOT_FUZZ_TARGET"] ?? ""
    if environment["ZEROSHOT_FUZZ_QUERY"] == "list" {
        FileHandle.standardOutput.write(Data(FuzzTargets.listing.utf8))
        exit(0)
    }
    guard let target = FuzzTargets.named(name) else {
        FileHandle.standardError.write(Data("zeroshot-fuzz: ZEROSHOT_FUZZ_TARGET=\(name) names no harness; see scripts/fuzz --list\n".utf8))
        exit(2)
    }
    if environment["ZEROSHOT_FUZZ_QUERY"] == "settings" {
        FileHandle.standardOutput.write(Data(FuzzTargets.settings(target).utf8))
        exit(0)
    }
    selected = target
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    let data = bytes.map { Data(bytes: $0, count: count) } ?? Data()
    selected?.run(data)
    return 0
}
#else
@main
struct FuzzTool {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        let usage = """
            usage: zeroshot-fuzz --list            the harnesses: name, then what it parses
                   zeroshot-fuzz NAME FILE...      replays files through harness NAME (as a regression test does)

            """
        guard let first = arguments.first else {
            FileHandle.standardError.write(Data(usage.utf8))
            exit(2)
        }
        if first == "--list" {
            print(FuzzTargets.listing, terminator: "")
            return
        }
        guard let target = FuzzTargets.named(first) else {
            FileHandle.standardError.write(Data("zeroshot-fuzz: no harness named \(first)\n\(usage)".utf8))
            exit(2)
        }
        for path in arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write(Data("zeroshot-fuzz: cannot read \(path)\n".utf8))
                exit(1)
            }
            let start = Date()
            target.run(data)
            print(String(format: "ok %@ (%.3f s)", path, Date().timeIntervalSince(start)))
        }
    }
}
#endif
#else
@main
struct FuzzTool {
    static func main() {
        print("zeroshot-fuzz exists in debug builds only (scripts/fuzz builds it)")
    }
}
#endif
