import Foundation

/// What a run of a command gave: its exit status and its standard output and error as text.
public struct CommandRun: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String

    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// The built `zeroshot` executable, run the way a user runs it, for the command-line tests of every test target.
public enum ZeroshotProcess {
    /// The executable: the test bundle sits next to the package's executables in the build directory.
    public static var executable: URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("zeroshot").path), dir.path != "/" {
            dir.deleteLastPathComponent()
        }
        return dir.appendingPathComponent("zeroshot")
    }

    /// ZEROSHOT_CACHE of the commands the tests run: a directory of this test process, never the user's cache.
    public static let cacheRoot = FileManager.default.temporaryDirectory
        .appendingPathComponent("zeroshot-tests-cache-\(ProcessInfo.processInfo.processIdentifier)")

    /// This process's environment with ZEROSHOT_CACHE `cacheRoot`, then `environment` over it.
    public static func environment(_ environment: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["ZEROSHOT_CACHE"] = cacheRoot.path
        env.merge(environment) { _, new in new }
        return env
    }

    /// Starts `executable` (default: zeroshot) with the arguments, `environment(environment)`, in `directory`
    /// (default: this process's), standard output and error piped, `stdin` on standard input when given.
    public static func start(_ arguments: [String], executable: URL? = nil, environment: [String: String] = [:],
                             directory: URL? = nil, stdin: Data? = nil) throws -> (Process, Pipe, Pipe) {
        let process = Process()
        process.executableURL = executable ?? Self.executable
        process.arguments = arguments
        process.environment = Self.environment(environment)
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        if stdin != nil { process.standardInput = input }
        try process.run()
        if let stdin {
            input.fileHandleForWriting.write(stdin)
            try input.fileHandleForWriting.close()
        }
        return (process, out, err)
    }

    /// Runs a started process to its end and collects what it wrote.
    public static func finish(_ started: (Process, Pipe, Pipe)) -> CommandRun {
        let (process, out, err) = started
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CommandRun(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                          stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// `start` then `finish`.
    public static func run(_ arguments: [String], executable: URL? = nil, environment: [String: String] = [:],
                           directory: URL? = nil, stdin: Data? = nil) throws -> CommandRun {
        finish(try start(arguments, executable: executable, environment: environment, directory: directory, stdin: stdin))
    }
}
