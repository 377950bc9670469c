import ArgumentParser
import Foundation
import ImageIndex
import ZeroShot

struct Bench: CheckedCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure load time, image and text tower speed, and peak memory.",
        discussion: """
            Loads the model (timed), then after one warm-up runs the image tower on a
            batch of pixel_values and the text tower on the candidate labels (--labels,
            else 10 everyday ones) put through the hypothesis template (--template),
            never from the label cache, ITERATIONS times each, and reports medians:

              load_ms                  classifier load (config, memory-mapped weights,
                                       tokenizer, preprocessor)
              image_ms_per_image       image tower + projection, per image, at --batch
              text_ms_per_label        tokenization + text tower + projection, per
                                       label (--labels, --template)
              preprocess_ms_per_image  resize + crop + normalize of one image
                                       (--image, or a synthetic 640x480 picture)
              decode_ms_per_image      reading and decoding the --image file to RGB
                                       (EXIF orientation applied); n/a without --image
              peak_rss_mb              peak resident memory of the process in MiB
                                       (VmHWM / 1024), mapped weights included
              image_gflop_per_image    floating-point operations of the image tower
                                       per image, 2 per multiply-add: patch
                                       embedding, q/k/v/out projections, attention
                                       products, MLP and projection; the last layer
                                       runs for the class token alone
              image_gflops             image_gflop_per_image / image time (GFLOP/s)
              fma_peak_gflops          float32 multiply-add peak of the --threads
                                       threads, measured in the same run (best of 5
                                       runs of independent FMA chains)
              threads_used             threads the image tower ran on (median over
                                       the timed passes): --threads, or fewer while
                                       other processes keep cores busy

            With fp32, image_gflops / fma_peak_gflops is how close the image tower runs
            to the machine's limit: no batch size brings an image below
            image_gflop_per_image / fma_peak_gflops seconds. int8 products run on
            integer dot-product instructions and can pass the float32 peak.

            With --templates NAME|FILE (and --classnames NAME|FILE, default cifar100) it
            times building a prompt-ensemble classifier instead (classify --templates):

              ensemble_ms              class embeddings of every class name put
                                       through every template (tokenization, text
                                       tower, projection, mean, renormalisation),
                                       from a freshly loaded classifier each time
                                       (no embedding cached in memory, no disk
                                       cache of text embeddings); median of
                                       ITERATIONS after a warm-up on two classes
              prompts, classes         the prompts and classes of one build

            --embeddings-out FILE writes the class embeddings as a JSON array of arrays.

            With --db INDEX it measures the index instead (the index's model, or --model
            when it has the same fingerprint):

              index_open_ms            opening the index and loading every embedding
                                       into one contiguous [rows, dim] matrix
                                       (median of ITERATIONS opens)
              search_ms                one search given a query embedding (one
                                       matrix-vector product and a partial top-10;
                                       no text tower): median over --queries random
                                       unit vectors
              relabel_ms               every stored embedding read from the index in
                                       path order and scored against the labels'
                                       text embeddings as classify --db scores them
                                       (--labels, else 20 everyday ones; median of
                                       ITERATIONS); the text tower is not in it:
              relabel_text_ms          the labels' text embeddings (text tower), once
              rows, dim                the index's images and embedding size

            EXAMPLES:
              zeroshot bench
              zeroshot bench --db photos.db --queries 100 --format json
              zeroshot bench --model ./clip-vit-large-patch14 --batch 16 --iterations 5
              zeroshot bench --format json --threads 1 --precision int8
              zeroshot bench --templates openai-imagenet --classnames cifar100 --iterations 3
            """
    )

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .long, parsing: .unconditional, help: "Images per image-tower call (1-1024).")
    var batch: Int = 1

    @Option(name: .long, parsing: .unconditional, help: "Timed repetitions (after one warm-up); medians are reported.")
    var iterations: Int = 10

    @Option(name: .long, parsing: .unconditional, help: "Image file whose pixel_values are timed and fed to the image tower (default: a synthetic 640x480 picture).")
    var image: String?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Comma-separated candidate labels for the text timing, split as classify splits them (default: 10 everyday labels).", valueName: "a,b,c"))
    var labels: String?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Hypothesis template for the text timing.", valueName: "template"))
    var template: String = ZeroShotClassifier.defaultHypothesisTemplate

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Measure this index: open, search and relabel (see above).", valueName: "index.db"))
    var db: String?

    @Option(name: .long, parsing: .unconditional, help: "With --db: query embeddings timed (the median is reported).")
    var queries: Int = 100

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp(
        "Time a prompt-ensemble classifier over this template set (\(PromptSets.templateSetNames.joined(separator: ", "))) or file (see above).",
        valueName: "name|file"))
    var templates: String?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp(
        "With --templates: the class names, a built-in set (\(PromptSets.classNameSetNames.joined(separator: ", "))) or a file (default cifar100).",
        valueName: "name|file"))
    var classnames: String?

    @Option(name: .customLong("embeddings-out"), parsing: .unconditional, help: ArgumentHelp(
        "With --templates: write the class embeddings to this file (JSON array of arrays).", valueName: "file"))
    var embeddingsOut: String?

    @Option(name: .long, help: "Output format: json or table.")
    var format: Format = .table

    enum Format: String, ExpressibleByArgument, CaseIterable { case json, table }

    /// Largest --batch: 1024 images of ViT-L/14 already need about 5 GB of activations.
    static let maxBatch = 1024

    static let labels = ["a cat", "a dog", "a rocket", "a cup of coffee", "an astronaut", "a red sports car",
                         "a mountain landscape at sunset", "a bowl of fruit", "a city street at night", "a person reading a book"]

    /// The labels of the relabel timing (--db) when --labels is not given.
    static let indexLabels = labels + ["a beach with palm trees", "a birthday cake", "a snowy forest", "a bicycle",
                                       "a plate of pasta", "a child playing football", "an old church",
                                       "a sailing boat", "a bird on a branch", "a laptop on a desk"]

    func check() throws {
        try modelOptions.check()
        try checkRange("--batch", batch, 1...Self.maxBatch)
        try checkRange("--iterations", iterations, 1...Int.max)
        try checkRange("--queries", queries, 1...Int.max)
        if db != nil {
            // The index timings use neither an image file nor the image tower: say so rather than ignore them.
            if image != nil { throw ValidationError("--image times the image tower; it does not apply to bench --db") }
            if batch != 1 { throw ValidationError("--batch sizes the image tower's calls; it does not apply to bench --db") }
        }
        if templates != nil || classnames != nil || embeddingsOut != nil {
            guard templates != nil else { throw ValidationError("--classnames and --embeddings-out need --templates") }
            if db != nil { throw ValidationError("--templates times a prompt ensemble; it does not apply to bench --db") }
            if image != nil { throw ValidationError("--image times the image tower; it does not apply to bench --templates") }
            if batch != 1 { throw ValidationError("--batch sizes the image tower's calls; it does not apply to bench --templates") }
            if labels != nil { throw ValidationError("give the classes of bench --templates with --classnames, not --labels") }
            let (names, set) = try ensemble()
            try validateTemplates(set, from: templates ?? "", for: names)
            return
        }
        try validateTemplate(template, for: labelList())
    }

    /// The class names and templates of `--classnames` and `--templates`.
    func ensemble() throws -> (classNames: [String], templates: [String]) {
        let names: [String], set: [String]
        do { names = try PromptSets.classNames(classnames ?? "cifar100") } catch { throw ValidationError("--classnames: \(error)") }
        do { set = try PromptSets.templates(templates ?? "") } catch { throw ValidationError("--templates: \(error)") }
        return (names, set)
    }

    /// `--templates`: the time to build the class embeddings of a prompt ensemble.
    func runEnsemble() throws {
        let (names, set) = try ensemble()
        let loadStart = DispatchTime.now()
        var classifier = try modelOptions.loadClassifier()
        let loadMs = milliseconds(since: loadStart)
        _ = try classifier.classEmbeddings(classNames: Array(names.prefix(2)), templates: set)
        var times: [Double] = []
        var embeddings: [[Float]] = []
        for _ in 0..<iterations {
            classifier = try modelOptions.loadClassifier()  // nothing cached from the previous build
            let t = DispatchTime.now()
            embeddings = try classifier.classEmbeddings(classNames: names, templates: set)
            times.append(milliseconds(since: t))
        }
        if let embeddingsOut {
            let text = "[" + embeddings.map { "[" + $0.map { "\($0)" }.joined(separator: ",") + "]" }.joined(separator: ",\n") + "]\n"
            try Data(text.utf8).write(to: URL(fileURLWithPath: embeddingsOut))
        }
        let results: [(String, Double)] = [("load_ms", loadMs), ("ensemble_ms", median(times)),
                                           ("peak_rss_mb", Double(peakResidentKilobytes()) / 1024)]
        let prompts = names.count * set.count
        switch format {
        case .json:
            var members = resultMembers(results)
            members += [("ensemble_samples_ms", "[" + times.map { String(format: "%.3f", $0) }.joined(separator: ",") + "]"),
                        ("prompts", "\(prompts)"), ("classes", "\(names.count)"), ("templates", "\(set.count)"),
                        ("iterations", "\(iterations)"), ("threads", "\(ComputeThreads.count)"),
                        ("cpu", JSON.string(cpuModelName())), ("kernels", JSON.string(KernelPath.current.description)),
                        ("precision", JSON.string(classifier.model.precision.rawValue)),
                        ("model", JSON.string(classifier.modelDirectory.path))]
            try writeOut(JSON.object(members) + "\n")
        case .table:
            let threads = ComputeThreads.count
            try writeOut("model: \(classifier.modelDirectory.path)\n\(names.count) classes x \(set.count) templates = \(prompts) prompts, "
                         + "\(iterations) iteration\(iterations == 1 ? "" : "s"), \(threads) thread\(threads == 1 ? "" : "s")\n"
                         + "cpu: \(cpuModelName())\n")
            try writeOut(resultLines(results))
        }
    }

    /// The labels of the text timing.
    func labelList() throws -> [String] {
        try labels.map(parseLabelList) ?? (db == nil ? Self.labels : Self.indexLabels)
    }

    func run() throws {
        if let db { return try runIndex(db) }
        if templates != nil { return try runEnsemble() }
        let loadStart = DispatchTime.now()
        let classifier = try modelOptions.loadClassifier()
        let loadMs = milliseconds(since: loadStart)

        // pixel_values from a real decoded image when given, else a deterministic synthetic picture.
        // With --image, its decoding (read + decode + EXIF orientation) is timed too.
        var rgb = Self.syntheticImage()
        var decodeTimes: [Double] = []
        if let image {
            for _ in 0...iterations {
                let t = DispatchTime.now()
                rgb = try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: image), maxPixels: modelOptions.maxPixels)
                decodeTimes.append(milliseconds(since: t))
            }
        }
        var preprocessTimes: [Double] = []
        var one: [Float] = []
        for _ in 0...iterations {
            let t = DispatchTime.now()
            one = try classifier.pixelValues(.pixels(rgb))
            preprocessTimes.append(milliseconds(since: t))
        }
        let pixelValues = Array([[Float]](repeating: one, count: batch).joined())

        var imageTimes: [Double] = []
        var threadsUsed: [Double] = []
        for i in 0...iterations {
            let t = DispatchTime.now()
            _ = try classifier.model.imageEmbeddings(pixelValues: pixelValues, batchSize: batch)
            if i > 0 {
                imageTimes.append(milliseconds(since: t) / Double(batch))
                threadsUsed.append(Double(ComputeThreads.lastStepThreads))
            }
        }

        let imageGFLOP = 2 * classifier.model.pooledImageMultiplyAdds / 1e9

        let sequences = try labelList().map { try applyHypothesisTemplate(template, to: $0) }
        var textTimes: [Double] = []
        for i in 0...iterations {
            let t = DispatchTime.now()
            let ids = sequences.map { classifier.tokenizer.encode($0, maxLength: classifier.textLength).ids }
            _ = try classifier.model.textEmbeddings(classifier.textBatch(ids))
            if i > 0 { textTimes.append(milliseconds(since: t) / Double(sequences.count)) }
        }

        let imageMs = median(imageTimes)
        let results: [(String, Double)] = [
            ("load_ms", loadMs),
            ("image_ms_per_image", imageMs),
            ("text_ms_per_label", median(textTimes)),
            ("preprocess_ms_per_image", median(Array(preprocessTimes.dropFirst()))),
            ("decode_ms_per_image", median(Array(decodeTimes.dropFirst()))),
            ("peak_rss_mb", Double(peakResidentKilobytes()) / 1024),
            ("image_gflop_per_image", imageGFLOP),
            ("image_gflops", imageMs > 0 ? imageGFLOP / (imageMs / 1000) : .nan),
            ("fma_peak_gflops", ArithmeticPeak.fmaGFLOPs()),
            ("threads_used", median(threadsUsed)),
        ]
        switch format {
        case .json:
            // Operation counts keep 9 significant digits, so small models do not round to 0; a value that could
            // not be measured is null.
            var members = resultMembers(results) { $0.hasSuffix("_gflop_per_image") ? "%.9g" : "%.3f" }
            members += [("batch", "\(batch)"), ("iterations", "\(iterations)"), ("threads", "\(ComputeThreads.count)"),
                        ("cpu", JSON.string(cpuModelName())), ("kernels", JSON.string(KernelPath.current.description)),
                        ("precision", JSON.string(classifier.model.precision.rawValue)), ("model", JSON.string(classifier.modelDirectory.path))]
            try writeOut(JSON.object(members) + "\n")
        case .table:
            let threads = ComputeThreads.count
            try writeOut("model: \(classifier.modelDirectory.path)\nbatch \(batch), \(iterations) iteration\(iterations == 1 ? "" : "s"), "
                     + "\(threads) thread\(threads == 1 ? "" : "s"), \(classifier.model.precision.rawValue)\n"
                     + "cpu: \(cpuModelName()), kernels: \(KernelPath.current)\n")
            try writeOut(resultLines(results) { $0.hasSuffix("_gflop_per_image") ? "%.6g" : "%.2f" })
        }
    }

    /// `--db`: the index's open, search and relabel times.
    func runIndex(_ db: String) throws {
        let labels = try labelList()
        var openTimes: [Double] = []
        var matrix: EmbeddingMatrix?
        for _ in 0..<iterations {
            matrix = nil  // the previous matrix is freed first, as in a fresh process
            let t = DispatchTime.now()
            matrix = try ImageIndex(path: db, create: false).embeddingMatrix()
            openTimes.append(milliseconds(since: t))
        }
        let index = try ImageIndex(path: db, create: false)
        guard let matrix, matrix.count > 0 else { throw EmptyIndexError(path: db) }

        var generator = SplitMix64(seed: 0)
        var searchTimes: [Double] = []
        for i in 0...queries {
            let query = generator.unitVector(matrix.dimension)
            let t = DispatchTime.now()
            _ = try matrix.search(query, topK: 10)
            if i > 0 { searchTimes.append(milliseconds(since: t)) }
        }

        let classifier = try loadIndexModel(index, modelOptions)
        var t = DispatchTime.now()
        let textEmbeddings = try classifier.labelEmbeddings(labels, hypothesisTemplate: template)
        let textMs = milliseconds(since: t)
        var relabelTimes: [Double] = []
        for _ in 0..<iterations {
            t = DispatchTime.now()
            try index.forEachEmbedding { _, embeddings in
                _ = classifier.predictions(imageEmbeddings: embeddings, textEmbeddings: textEmbeddings, candidateLabels: labels)
            }
            relabelTimes.append(milliseconds(since: t))
        }

        let results: [(String, Double)] = [
            ("index_open_ms", median(openTimes)),
            ("search_ms", median(searchTimes)),
            ("relabel_ms", median(relabelTimes)),
            ("relabel_text_ms", textMs),
            ("peak_rss_mb", Double(peakResidentKilobytes()) / 1024),
        ]
        switch format {
        case .json:
            var members = resultMembers(results)
            members += [("rows", "\(matrix.count)"), ("dim", "\(matrix.dimension)"), ("labels", "\(labels.count)"),
                        ("queries", "\(queries)"), ("iterations", "\(iterations)"), ("threads", "\(ComputeThreads.count)"),
                        ("cpu", JSON.string(cpuModelName())), ("db", JSON.string(db)),
                        ("model", JSON.string(classifier.modelDirectory.path))]
            try writeOut(JSON.object(members) + "\n")
        case .table:
            let threads = ComputeThreads.count
            try writeOut("index: \(db)\n\(matrix.count) rows, dim \(matrix.dimension), \(labels.count) labels, \(queries) queries, "
                         + "\(iterations) iteration\(iterations == 1 ? "" : "s"), \(threads) thread\(threads == 1 ? "" : "s")\n"
                         + "cpu: \(cpuModelName())\n")
            try writeOut(resultLines(results))
        }
    }

    /// A smooth, deterministic 640x480 colour picture (gradients and rings), so resize work is realistic.
    static func syntheticImage() -> RGBImage {
        let w = 640, h = 480
        var pixels = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                let i = (y * w + x) * 3
                let dx = Double(x - w / 2), dy = Double(y - h / 2)
                pixels[i] = UInt8(truncatingIfNeeded: x * 255 / w)
                pixels[i + 1] = UInt8(truncatingIfNeeded: y * 255 / h)
                pixels[i + 2] = UInt8(truncatingIfNeeded: Int(127.5 + 127.5 * sin((dx * dx + dy * dy).squareRoot() / 9)))
            }
        }
        return RGBImage(width: w, height: h, pixels: pixels)
    }
}

/// `bench --db` of an index without images: there is nothing to time.
struct EmptyIndexError: LocalizedError, CustomStringConvertible {
    let path: String
    var description: String { "\(path): the index holds no images, so there is nothing to time; index a folder into it first" }
    var errorDescription: String? { description }
}

/// A small deterministic generator (SplitMix64) for benchmark query vectors.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A random direction: normal variates (Box-Muller), L2-normalised.
    mutating func unitVector(_ dimension: Int) -> [Float] {
        var v = (0..<dimension).map { _ -> Float in
            // u1 in (0, 1] (log(0) is not finite), u2 in [0, 1): 53-bit integers over 2^53.
            let u1 = (Double(next() >> 11) + 1) / 0x1p53, u2 = Double(next() >> 11) / 0x1p53
            return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
        }
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        for i in v.indices { v[i] /= norm }
        return v
    }
}

/// A table line per result: the name, then the value right-aligned in 10 columns (`n/a` when not measured), printf
/// format by name (default `%.2f`).
func resultLines(_ results: [(String, Double)], format: (String) -> String = { _ in "%.2f" }) -> String {
    results.map { name, value in
        let text = !value.isFinite ? "n/a" : String(format: format(name), value)
        return name.padding(toLength: 26, withPad: " ", startingAt: 0) + String(repeating: " ", count: max(0, 10 - text.count))
            + text + "\n"
    }.joined()
}

/// JSON members of results (`null` when not measured), printf format by name (default `%.3f`).
func resultMembers(_ results: [(String, Double)], format: (String) -> String = { _ in "%.3f" }) -> [(String, String)] {
    results.map { name, value in (name, !value.isFinite ? "null" : String(format: format(name), value)) }
}

func milliseconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

/// The processor's model name (`model name` in /proc/cpuinfo), or the architecture where that is unavailable.
func cpuModelName() -> String {
    if let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) {
        for line in info.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") { return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces) }
        }
    }
    #if arch(x86_64)
    return "x86_64"
    #elseif arch(arm64)
    return "arm64"
    #else
    return "unknown"
    #endif
}

/// Peak resident set size of this process in KiB (`VmHWM` in /proc/self/status; 0 where unavailable).
func peakResidentKilobytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }
    return 0
}
