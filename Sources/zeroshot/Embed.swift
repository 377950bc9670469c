import ArgumentParser
import Foundation
import Inputs
import Video
import ZeroShot

struct Embed: CheckedCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print L2-normalised image or text embeddings.",
        discussion: """
            Image embeddings come from the vision tower and visual projection, text embeddings from the text \
            tower and text projection; both are L2-normalised, so a dot product is the cosine similarity. Text is \
            embedded as given (no hypothesis template). The output lists every image first (--image, then \
            --files-from), then every --text, each in the order given, written as they are computed.

            --image takes files, folders (walked recursively, as classify walks them: sorted, hidden names \
            and --exclude left out, files recognised by content) and http(s) URLs. An input that fails is \
            reported on standard error, the others are still embedded, and the exit code is 1.

            EXAMPLES:
              zeroshot embed --image photo.jpg
              zeroshot embed --text "a photo of a cat" --text "a photo of a dog" --format jsonl
              zeroshot embed --image ~/Pictures/2024 --format jsonl > embeddings.jsonl
              zeroshot embed --image talk.mp4 --every 10 --format jsonl

            VIDEO:
              A video given or found among the images (MP4/MOV, Matroska/WebM, AVI, MPEG-TS, recognised by \
            content) is sampled as classify samples it (see zeroshot classify --help: --every S, default 1; \
            --scenes [T] with --max-gap; --max-frames N) and each sampled frame is embedded as an image, with \
            "time": its presentation time in seconds from the start of the file (the origin of ffmpeg -ss), 3 \
            decimals, truncated. A video that cannot be read, or where decoding stops, is reported naming it and \
            the time; the frames before are kept and the exit code is 1.

            OUTPUT:
              json   [{"input": path-or-text, "embedding": [Float]}] (default); a video frame:
                     {"input": path, "time": 12.000, "embedding": [Float]}
              jsonl  one {"input", "embedding"} object per line (a frame: {"input", "time", "embedding"})
            """
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var inputOptions: InputOptions
    @OptionGroup var videoOptions: VideoOptions
    @OptionGroup var textCacheOptions: TextCacheOptions

    @Option(name: .long, parsing: .unconditionalSingleValue, help: ArgumentHelp("An image or video file, folder or http(s) URL to embed (repeatable).", valueName: "path"))
    var image: [String] = []

    @Option(name: .long, parsing: .unconditionalSingleValue, help: ArgumentHelp("A text to embed, as given (repeatable).", valueName: "string"))
    var text: [String] = []

    @Option(name: .long, help: "Output format: json or jsonl.")
    var format: Format = .json

    enum Format: String, ExpressibleByArgument, CaseIterable { case json, jsonl }

    func check() throws {
        try modelOptions.check()
        try inputOptions.check()
        try videoOptions.check()
        try textCacheOptions.check()
        guard try inputOptions.hasInputs(image) || !text.isEmpty else {
            throw ValidationError("give --image PATH or --text STRING (repeatable)")
        }
    }

    func run() throws {
        let sampling = try videoOptions.sampling()
        let walk = try inputOptions.walk(image)
        let classifier = try modelOptions.loadClassifier(textCache: text.isEmpty ? nil : textCacheOptions.directory)
        // Texts first (few, and an error there must not cut the image rows' JSON short), written after the images.
        let textEmbeddings = text.isEmpty ? [] : try classifier.textEmbeddings(text)
        let media = MediaItems(walk.entries, loader: inputOptions.loader, sampling: sampling,
                               maxPixels: modelOptions.maxPixels)
        var videos = MediaRun(progress: inputOptions.progress(total: walk.entries.count,
                                                              skippedNonImages: walk.skippedNonImages),
                              sampling: sampling)
        var rows = 0
        func write(_ row: String) throws {
            switch format {
            case .json: try writeOut((rows == 0 ? "[" : ", ") + row)
            case .jsonl: try writeOut(row + "\n")
            }
            rows += 1
        }
        try classifier.embedImages(media, load: { item in try media.image(item) }) { item, result in
            let entry = item.entry
            videos.next(item)
            switch item {
            case .image:
                switch result {
                case .success(let embedding): try write(Self.row(entry.name, embedding))
                case .failure(let error): videos.report(entry.name, error)
                }
                videos.done()
            case .frame(_, _, let frame):
                switch result {
                case .success(let embedding): try write(Self.row(entry.name, time: frame.time, embedding))
                case .failure(let error): videos.reportFrame(entry.name, time: frame.time, error)
                }
            case .failure(_, _, let error):
                videos.reportFailure(item, error)
            case .videoEnd(_, _, let summary):
                videos.end(entry.name, summary)
            }
        }
        videos.finish()
        for (t, embedding) in zip(text, textEmbeddings) { try write(Self.row(t, embedding)) }
        if format == .json { try writeOut(rows == 0 ? "[]\n" : "]\n") }
        if !walk.problems.isEmpty || videos.failed { throw ExitCode(1) }
    }

    /// One output row: `{"input", "embedding"}`, or for a sampled video frame `{"input", "time", "embedding"}`
    /// (`time`: seconds from the start of the file, 3 decimals, truncated).
    static func row(_ input: String, time: Double? = nil, _ embedding: [Float]) -> String {
        var members: [(String, String)] = [("input", JSON.string(input))]
        if let time { members.append(("time", VideoTime.text(time))) }
        members.append(("embedding", "[" + embedding.map(JSON.number).joined(separator: ",") + "]"))
        return JSON.object(members)
    }
}
