import ArgumentParser
import Foundation
import ImageIndex
import Inputs
import Video
import ZeroShot

struct Index: CheckedCommand {
    static let configuration = CommandConfiguration(
        abstract: "Index the images and videos of folders, files and URLs into an SQLite file for search and relabeling.",
        discussion: """
            Stores, for each image, its absolute path (the URL for a URL), size, modification time, SHA-256, width, \
            height and L2-normalised image embedding, with the model's id, revision and fingerprint. Folders are \
            walked recursively in sorted order; hidden files and folders are skipped; files are recognised by \
            their content, and non-images found while walking are counted as skipped.

            Re-running is incremental: unchanged files (same path, size and modification time) are not read, \
            changed ones are re-embedded (a file only touched, same bytes, just has its size and time updated; \
            both count as updated), URLs are downloaded again (same bytes: unchanged), and rows of files that are gone from under the given folders (or that \
            --exclude now leaves out) are removed, those of other shards and of unreadable folders excepted \
            (--keep-missing keeps them all). Work is committed batch by batch: an interrupted run loses at most the batch \
            in flight, and the next run resumes. An image that cannot be read is reported on standard error, the \
            others are indexed, and the exit code is 1. Without --model, a re-run uses the model the index was made \
            with ($ZEROSHOT_MODEL and the default model apply only to a new index); another model is an error.

            VIDEOS:
              A video (recognised by content) is sampled (--every SECONDS, default 1; or --scenes; --max-frames) and \
            each sampled frame is stored as a row of its own with its time, the video's size, modification time, \
            SHA-256 and display size on each. The summary counts files: a video is one added, updated or unchanged. \
            A video is unchanged when its size and modification time are and it was sampled with the same settings; \
            other settings sample it again. A video whose decoding stops part way keeps the frames before (the \
            error names the time) and is sampled again by the next run.

            By default each image goes through the image tower on its own (--batch 1), so its embedding does not \
            depend on the images around it: shards, re-runs and merges give bit-identical rows. --batch N is faster \
            and gives embeddings that may differ in the last bits.

            MANY MACHINES:
              --shard K/N indexes the inputs whose path relative to the argument it was found under hashes to K \
            (first 8 bytes of its SHA-256, big-endian, modulo N). Run N jobs with K = 0..N-1 into N files, then \
            zeroshot merge --db all.db shard-*.db.

            EXAMPLES:
              zeroshot index --db photos.db ~/Pictures
              zeroshot index --db photos.db --exclude "*.tmp" --exclude "Trash" ~/Pictures
              zeroshot index --db shard-$JOB_COMPLETION_INDEX.db --shard $JOB_COMPLETION_INDEX/8 /data/photos

            OUTPUT (standard output, after the run):
              table  added 120, updated 3, unchanged 4031, removed 2, failed 1, skipped 7
              json   {"added": 120, "updated": 3, "unchanged": 4031, "removed": 2, "failed": 1, "skipped": 7}
            """
    )

    @Option(name: .long, help: ArgumentHelp("The index file (created when missing).", valueName: "path"))
    var db: String

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .long, help: ArgumentHelp("Index only share K of N (0 <= K < N) of the inputs.", valueName: "K/N"))
    var shard: String?

    @OptionGroup var inputOptions: InputOptions

    @OptionGroup var videoOptions: VideoOptions

    @Flag(name: .long, help: "Keep the rows of files that are gone.")
    var keepMissing = false

    @Option(name: .long, help: ArgumentHelp("Images per image-tower call and per committed batch.", valueName: "N"))
    var batch: Int = 1

    @Option(name: .long, help: "Summary format: table or json.")
    var format: Format = .table

    enum Format: String, ExpressibleByArgument, CaseIterable { case table, json }

    @Argument(help: ArgumentHelp("Image and video files, folders and URLs.", valueName: "path"))
    var inputs: [String] = []

    func check() throws {
        try modelOptions.check()
        try checkRange("--batch", batch, 1...4096)
        try inputOptions.check()
        try videoOptions.check()
        if let shard {
            do { _ = try Shard(parsing: shard) } catch { throw ValidationError("--shard \(shard): give K/N with 0 <= K < N") }
        }
        guard try inputOptions.hasInputs(inputs) else {
            throw ValidationError("give the folders, files or URLs to index (or --files-from FILE)")
        }
    }

    func run() throws {
        let index = try ImageIndex(path: db)
        let classifier: ZeroShotClassifier
        if modelOptions.choice.model == nil, try index.model() != nil {
            classifier = try loadIndexModel(index, modelOptions, batchSize: batch)
        } else {
            classifier = try modelOptions.loadClassifier(batchSize: batch)
        }
        let options = ImageIndex.UpdateOptions(exclude: inputOptions.exclude, shard: try shard.map(Shard.init(parsing:)),
                                               keepMissing: keepMissing, batchSize: batch,
                                               maxDownloadBytes: inputOptions.maxDownloadBytes,
                                               sampling: try videoOptions.sampling())
        var progress: RunProgress?
        var summary: ImageIndex.UpdateSummary
        // Lines of --files-from that are not UTF-8 are reported and left out; the others are indexed.
        let (arguments, listProblems) = try inputOptions.allArgumentsAndProblems(inputs)
        for problem in listProblems { reportInputError(problem.path, problem) }
        do {
            summary = try index.update(arguments, classifier: classifier, options: options) { event in
                switch event {
                case .walked(let total):
                    progress = inputOptions.progress(total: total, skippedNonImages: 0)
                case .progress(let done, _):
                    while let p = progress, p.done < done { p.advance() }
                case .failed(let input, let error):
                    if let progress { progress.message("") }
                    reportInputError(input, error)
                case .warning(_, let message):
                    if let progress { progress.message("") }
                    warn(message)
                }
            }
        } catch {
            progress?.finish()
            throw error
        }
        progress?.finish()
        summary.failed += listProblems.count
        try writeOut(Self.render(summary, format: format))
        if summary.failed > 0 { throw ExitCode(1) }
    }

    static func render(_ s: ImageIndex.UpdateSummary, format: Format) -> String {
        let fields = [("added", s.added), ("updated", s.updated), ("unchanged", s.unchanged), ("removed", s.removed),
                      ("failed", s.failed), ("skipped", s.skipped)]
        switch format {
        case .table: return fields.map { "\($0.0) \($0.1)" }.joined(separator: ", ") + "\n"
        case .json: return JSON.object(fields.map { ($0.0, String($0.1)) }) + "\n"
        }
    }
}

