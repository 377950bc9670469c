import ArgumentParser
import Foundation
import ImageIndex
import ZeroShot

struct Merge: CheckedCommand {
    static let configuration = CommandConfiguration(
        abstract: "Merge indexes made with the same model (the shards of a --shard K/N run) into one.",
        discussion: """
            Copies every row of each SHARD.db into --db (created when missing), bytes unchanged, each shard in one \
            transaction; a path in several indexes keeps the rows of the last one given (a video: all its frames). \
            Counts are of files (a video is one, whatever its frames). Indexes of different models \
            (model fingerprints) do not merge: the error names both.

            EXAMPLES:
              zeroshot merge --db photos.db shard-0.db shard-1.db shard-2.db

            OUTPUT:
              one line per shard: its path, files added and replaced; then the total of --db (images, and videos with
              their frames when there are any)
            """
    )

    @Option(name: .long, help: ArgumentHelp("The index to merge into (created when missing).", valueName: "path"))
    var db: String

    @Argument(help: ArgumentHelp("The indexes to merge.", valueName: "shard.db"))
    var sources: [String] = []

    func check() throws {
        guard !sources.isEmpty else { throw ValidationError("give the indexes to merge: zeroshot merge --db OUT SHARD.db...") }
        // By path, or by device and inode (a symbolic or hard link to --db).
        if let same = sources.first(where: { ImageIndex.sameFile($0, db) }) {
            throw ValidationError("\(same) is the --db index itself; give the other indexes")
        }
    }

    func run() throws {
        // Every source is checked (openable, same model) before anything is written.
        var model: ImageIndex.Model?
        var modelSource = ""
        for source in sources {
            let index = try ImageIndex(path: source, create: false, readOnly: true)
            guard let m = try index.model() else { continue }
            if let model, model.identity.fingerprint != m.identity.fingerprint {
                throw ImageIndexError.mergeModelMismatch(path: modelSource, model: model.identity, source: source,
                                                         sourceModel: m.identity)
            }
            if model == nil { (model, modelSource) = (m, source) }
        }
        let index = try ImageIndex(path: db)
        var lines = ""
        var corrupt = 0
        for source in sources {
            let summary = try index.merge(from: source)
            // Rows with a corrupt embedding are not copied: an error each, the other rows are merged (exit 1).
            for error in summary.corrupt { reportInputError(source, error) }
            corrupt += summary.corrupt.count
            lines += "\(source): added \(summary.added), replaced \(summary.replaced)"
                + (summary.corrupt.isEmpty ? "" : ", left out \(summary.corrupt.count) with a corrupt embedding") + "\n"
        }
        let contents = try index.contents()
        lines += "\(db): \(contents.images) images"
            + (contents.videos == 0 ? "" : ", \(contents.videos) video\(contents.videos == 1 ? "" : "s") (\(contents.frames) frames)") + "\n"
        try writeOut(lines)
        if corrupt > 0 { throw ExitCode(1) }
    }
}
