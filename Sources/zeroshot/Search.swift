import ArgumentParser
import Foundation
import ImageIndex
import Inputs
import Video
import ZeroShot

struct Search: CheckedCommand {
    static let configuration = CommandConfiguration(
        abstract: "Search an index by text, by similar images, or both.",
        discussion: """
            The query is the sum of the L2-normalised embeddings of TEXT (embedded as given, or put through \
            --template, or the renormalised mean over the prompts of a --templates set) and of each --image, minus those of each --not text, L2-normalised again; every stored \
            image is scored by the cosine similarity of its embedding with it (one matrix product over all \
            stored embeddings), and the best are listed first. A video is listed once, at its best-scoring \
            frame (with that frame's time), unless --all-frames lists every frame; --top-k counts what is listed. \
            The index's own model is used (not \
            $ZEROSHOT_MODEL or the default model); --model, when given, must name the same model (same fingerprint).

            EXAMPLES:
              zeroshot search --db photos.db "a dog on a beach"
              zeroshot search --db photos.db --image holiday/IMG_0042.jpg --top-k 20
              zeroshot search --db photos.db "mountains" --not "snow" --format json

            FORMATS:
              table  score and path, best first (default); a video frame's time
                     after its path ("  12.000 s")
              json   [{"path": path, "score": cosine}] best first; a video frame
                     {"path", "time": seconds, "score"}
              jsonl  one such object per line
              csv    path,score; path,time,score when the index holds video frames
                     (the time empty for an image)
            """
    )

    @Option(name: .long, help: ArgumentHelp("The index file.", valueName: "path"))
    var db: String

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var textCacheOptions: TextCacheOptions

    @Option(name: .customLong("top-k"), help: ArgumentHelp("How many images to list.", valueName: "N"))
    var topK: Int = 10

    @Option(name: .long, help: "Output format: table, json, jsonl or csv.")
    var format: OutputFormat = .table

    @Flag(name: .customLong("all-frames"), help: "List every matching frame of a video, not only its best one.")
    var allFrames = false

    @Option(name: .long, parsing: .unconditionalSingleValue, help: ArgumentHelp(
        "An image file or URL whose similar images are wanted (repeatable; added to the query).", valueName: "path"))
    var image: [String] = []

    @Option(name: .customLong("not"), parsing: .unconditionalSingleValue, help: ArgumentHelp(
        "A text to steer away from (repeatable; subtracted from the query).", valueName: "text"))
    var not: [String] = []

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp(
        "Put TEXT and --not texts through this template ({} is the text), e.g. \"a photo of {}.\".", valueName: "template"))
    var template: String?

    @Option(name: .customLong("templates"), parsing: .unconditional, help: ArgumentHelp(
        "Prompt ensemble for TEXT and --not texts: a built-in template set (\(PromptSets.templateSetNames.joined(separator: ", "))) "
        + "or a file with one template per line; each text's embedding is the renormalised mean over its prompts (not "
        + "with --template).", valueName: "name|file"))
    var templateSet: String?

    /// The templates of `--templates`, else `--template`'s, else none (texts as given).
    func hypothesisTemplates() throws -> [String]? {
        if let templateSet {
            do { return try PromptSets.templates(templateSet) } catch { throw ValidationError("--templates: \(error)") }
        }
        return template.map { [$0] }
    }

    @Argument(help: ArgumentHelp("The text to search for.", valueName: "text"))
    var text: [String] = []

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case table, json, jsonl, csv }

    func check() throws {
        try modelOptions.check()
        try textCacheOptions.check()
        try checkRange("--top-k", topK, 1...Int.max)
        guard text.count <= 1 else {
            throw ValidationError("give one TEXT (quote a text with spaces: \"a dog on a beach\"); got \(text.count)")
        }
        guard !text.isEmpty || !image.isEmpty else { throw ValidationError("give a TEXT to search for, or --image PATH") }
        if let empty = (text + not).first(where: { $0.allSatisfy(\.isWhitespace) }) {
            throw ValidationError("the search text '\(empty)' is empty; give words to search for")
        }
        if template != nil && templateSet != nil {
            throw ValidationError("give either --template (one template) or --templates (a set), not both")
        }
        if let template { try validateTemplate(template, for: text + not) }
        if let templateSet { try validateTemplates(try hypothesisTemplates() ?? [], from: templateSet, for: text + not) }
    }

    func run() throws {
        let index = try ImageIndex(path: db, create: false)
        let classifier = try loadIndexModel(index, modelOptions, batchSize: 1, textCache: textCacheOptions.directory)
        let templates = try hypothesisTemplates()
        let embed: ([String]) throws -> [[Float]] = { texts in
            guard !texts.isEmpty else { return [] }
            guard let templates else { return try classifier.textEmbeddings(texts) }
            return try classifier.classEmbeddings(classNames: texts, templates: templates)
        }
        var positive = try embed(text)
        let negative = try embed(not)
        var failed = false
        let loader = InputLoader()
        for path in image {
            // A file or a URL, read as the index reads it; one image per image-tower call, as the index embeds by
            // default.
            let remote = RemoteFile.isRemote(path) ? URL(string: path) : nil
            let entry = InputEntry(name: path, location: remote.map { .remote($0) } ?? .file(URL(fileURLWithPath: path)),
                                   shardKey: path, explicit: true)
            let result = Result { try loader.load(entry) }
                .flatMap { loaded in classifier.imageEmbeddings([.encoded(loaded.bytes)])[0] }
            switch result {
            case .success(let embedding): positive.append(embedding)
            case .failure(let error): reportInputError(path, error); failed = true
            }
        }
        if failed { throw ExitCode(1) }
        guard let query = ImageIndex.combinedQuery(positive: positive, negative: negative) else {
            // Known only once the texts are embedded, so after check(): a usage error with search's own usage.
            ZeroShotCommand.reportUsageError(ValidationError("the --not texts cancel the query exactly; nothing to search for"),
                                             of: Search.self)
            throw ExitCode.validationFailure
        }
        // A row with a corrupt embedding is an error naming its image; the others are still searched (exit 1).
        var corruptRows = 0
        let matrix = try index.embeddingMatrix(corrupt: { error in
            corruptRows += 1
            reportInputError(db, error)
        })
        guard query.count == matrix.dimension else {
            throw ImageIndexError.queryDimension(path: db, query: query.count, dimension: matrix.dimension)
        }
        let hits = try matrix.search(query, topK: topK, allFrames: allFrames)
        try writeOut(Self.render(hits, format: format, frames: matrix.hasFrames))
        if corruptRows > 0 { throw ExitCode(1) }
    }

    /// The hits as `format` writes them: a still image `{"path", "score"}`, a video frame `{"path", "time",
    /// "score"}` (time with 3 decimals, `VideoTime.text`); csv has a time column when `frames` (the index holds video
    /// frames), empty for an image.
    static func render(_ hits: [SearchHit], format: OutputFormat, frames: Bool = false) -> String {
        func object(_ hit: SearchHit) -> String {
            var fields = [("path", JSON.string(hit.path))]
            if let time = hit.time { fields.append(("time", VideoTime.text(time))) }
            fields.append(("score", JSON.number(hit.score)))
            return JSON.object(fields)
        }
        switch format {
        case .table:
            return hits.map { hit in
                String(format: "%.4f  ", Double(hit.score)) + hit.path + (hit.time.map { "  \(VideoTime.text($0)) s" } ?? "") + "\n"
            }.joined()
        case .json:
            return JSON.array(hits.map(object)) + "\n"
        case .jsonl:
            return hits.map { object($0) + "\n" }.joined()
        case .csv where frames:
            return (["path,time,score"] + hits.map {
                CSV.field($0.path) + "," + ($0.time.map(VideoTime.text) ?? "") + "," + JSON.number($0.score)
            }).joined(separator: "\n") + "\n"
        case .csv:
            return (["path,score"] + hits.map { CSV.field($0.path) + "," + JSON.number($0.score) }).joined(separator: "\n") + "\n"
        }
    }
}
