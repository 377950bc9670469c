import ArgumentParser
import Dispatch
import Foundation
import Logging
import ZeroShot
import ZeroShotServer

struct Serve: CheckedCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve zero-shot classification, embeddings and index search over HTTP.")

    @Option(name: .long, help: ArgumentHelp("Address to bind.", valueName: "host"))
    var host: String?

    @Option(name: .long, help: ArgumentHelp("TCP port.", valueName: "port"))
    var port: Int?

    func check() throws {}

    func run() throws {
        var configuration = ServerConfiguration()
        if let host { configuration.host = host }
        if let port { configuration.port = port }
        let logger = Logger(label: "zeroshot")
        let done = DispatchSemaphore(value: 0)
        let result = LockedResult()
        Task {
            do { try await ZeroShotServer.run(configuration, logger: logger) } catch { result.error = error }
            done.signal()
        }
        done.wait()
        if let error = result.error { throw error }
    }
}

/// The outcome of the server task, read by the blocked main thread once the task has signalled.
private final class LockedResult: @unchecked Sendable {
    var error: Error?
}
