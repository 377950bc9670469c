import ArgumentParser
import Foundation
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

            EXAMPLES:
              zeroshot bench
              zeroshot bench --model ./clip-vit-large-patch14 --batch 16 --iterations 5
              zeroshot bench --format json --threads 1 --precision int8
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

    @Option(name: .long, help: "Output format: json or table.")
    var format: Format = .table

    enum Format: String, ExpressibleByArgument, CaseIterable { case json, table }

    /// Largest --batch: 1024 images of ViT-L/14 already need about 5 GB of activations.
    static let maxBatch = 1024

    static let labels = ["a cat", "a dog", "a rocket", "a cup of coffee", "an astronaut", "a red sports car",
                         "a mountain landscape at sunset", "a bowl of fruit", "a city street at night", "a person reading a book"]

    func check() throws {
        try modelOptions.check()
        try checkRange("--batch", batch, 1...Self.maxBatch)
        try checkRange("--iterations", iterations, 1...Int.max)
        try validateTemplate(template, for: labelList())
    }

    /// The labels of the text timing.
    func labelList() throws -> [String] {
        try labels.map(parseLabelList) ?? Self.labels
    }

    func run() throws {
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
            var members = results.map { name, value in
                (name, !value.isFinite ? "null" : String(format: name.hasSuffix("_gflop_per_image") ? "%.9g" : "%.3f", value))
            }
            members += [("batch", "\(batch)"), ("iterations", "\(iterations)"), ("threads", "\(ComputeThreads.count)"),
                        ("cpu", JSON.string(cpuModelName())), ("kernels", JSON.string(KernelPath.current.description)),
                        ("precision", JSON.string(classifier.model.precision.rawValue)), ("model", JSON.string(classifier.modelDirectory.path))]
            try writeOut(JSON.object(members) + "\n")
        case .table:
            let threads = ComputeThreads.count
            try writeOut("model: \(classifier.modelDirectory.path)\nbatch \(batch), \(iterations) iteration\(iterations == 1 ? "" : "s"), "
                     + "\(threads) thread\(threads == 1 ? "" : "s"), \(classifier.model.precision.rawValue)\n"
                     + "cpu: \(cpuModelName()), kernels: \(KernelPath.current)\n")
            for (name, value) in results {
                let text = !value.isFinite ? "n/a" : String(format: name.hasSuffix("_gflop_per_image") ? "%.6g" : "%.2f", value)
                try writeOut(name.padding(toLength: 26, withPad: " ", startingAt: 0) + String(repeating: " ", count: max(0, 10 - text.count)) + text + "\n")
            }
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
