import Foundation
import XCTest
import ZeroShot

/// `embedImages`, the streaming `classify` and `predictions`: order, errors, threads, memory, the same numbers.
final class StreamingTests: XCTestCase {
    static let names = ["chelsea.jpg", "rocket.jpg", "coffee.webp", "camera_gray.png", "astronaut_exif6.jpg",
                        "cifar10_00_3.png", "imagenet_00_243.jpg", "coffee_small.png", "camera_gray.jpg"]

    /// Counts what is loaded, delivered and taken from the sequence, from any thread.
    final class Counters: @unchecked Sendable {
        private let lock = NSLock()
        private var loaded = 0, delivered = 0, taken = 0
        private(set) var maxInFlight = 0
        private(set) var maxAhead = 0
        var loadThreads = Set<UInt>()

        func load() {
            lock.lock(); defer { lock.unlock() }
            loaded += 1
            maxInFlight = max(maxInFlight, loaded - delivered)
            loadThreads.insert(UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(bitPattern: Int(pthread_self()))!)))
        }
        func deliver() {
            lock.lock(); defer { lock.unlock() }
            delivered += 1
        }
        func take() {
            lock.lock(); defer { lock.unlock() }
            taken += 1
            maxAhead = max(maxAhead, taken - delivered)
        }
    }

    /// A sequence that counts how far it has been read.
    struct CountingSequence: Sequence {
        let items: [String]
        let counters: Counters
        func makeIterator() -> AnyIterator<String> {
            var i = 0
            return AnyIterator {
                guard i < items.count else { return nil }
                counters.take()
                defer { i += 1 }
                return items[i]
            }
        }
    }

    func testEmbedImagesStreamsInOrderWithTheNumbersOfOneBatchAtATime() throws {
        let classifier = try ZeroShotClassifier(directory: try fixtureModelDirectory())
        // 27 items: every image three times, a missing file and a non-image among them.
        var items = (0..<3).flatMap { _ in Self.names }
        items.insert("missing.jpg", at: 4)
        items.insert("../labels.json", at: 11)
        let reference = classifier.imageEmbeddings(items.map { .file(fixtureImage($0)) })
        let callingThread = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(bitPattern: Int(pthread_self()))!))
        for batchSize in [1, 4, 16] {
            let counters = Counters()
            var seen: [String] = []
            var results: [Result<[Float], Error>] = []
            classifier.embedImages(CountingSequence(items: items, counters: counters), batchSize: batchSize, load: { name in
                counters.load()
                return try ImageDecoder.decode(contentsOf: fixtureImage(name))
            }) { name, result in
                counters.deliver()
                seen.append(name)
                results.append(result)
            }
            XCTAssertEqual(seen, items, "batch \(batchSize): body once per item, in input order")
            XCTAssertFalse(counters.loadThreads.contains(callingThread), "load runs on another thread")
            // At most the batch being delivered and the one being prepared.
            XCTAssertLessThanOrEqual(counters.maxInFlight, 2 * batchSize, "batch \(batchSize)")
            XCTAssertLessThanOrEqual(counters.maxAhead, 2 * batchSize, "batch \(batchSize): read ahead of the body")
            for (i, (result, expected)) in zip(results, reference).enumerated() {
                switch (result, expected) {
                case (.success(let a), .success(let b)):
                    // Within one batch size the rows are the same numbers; across batch sizes a matrix product may
                    // round differently.
                    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 2e-5, "\(items[i]) batch \(batchSize)") }
                case (.failure(let a), .failure(let b)):
                    XCTAssertEqual("\(a)", "\(b)")
                    XCTAssertTrue("\(a)".contains(items[i]), "\(a)")
                default:
                    XCTFail("\(items[i]): \(result) vs \(expected)")
                }
            }
        }
    }

    /// With batch size 1, an image's embedding does not depend on its neighbours: the same bits alone or in a run.
    func testBatchSizeOneIsIndependentOfTheNeighbours() throws {
        let classifier = try ZeroShotClassifier(directory: try fixtureModelDirectory())
        var run: [[Float]] = []
        classifier.embedImages(Self.names, batchSize: 1, load: { try ImageDecoder.decode(contentsOf: fixtureImage($0)) }) {
            _, result in run.append((try? result.get()) ?? [])
        }
        for (name, embedding) in zip(Self.names, run).reversed() {
            var alone: [Float] = []
            classifier.embedImages([name], batchSize: 1, load: { try ImageDecoder.decode(contentsOf: fixtureImage($0)) }) {
                _, result in alone = (try? result.get()) ?? []
            }
            XCTAssertEqual(alone, embedding, name)
            XCTAssertFalse(alone.isEmpty)
        }
    }

    struct Stop: Error {}

    /// A body that throws ends the run with its error; nothing more is delivered.
    func testBodyErrorStopsTheRun() throws {
        let classifier = try ZeroShotClassifier(directory: try fixtureModelDirectory())
        var delivered = 0
        XCTAssertThrowsError(try classifier.embedImages(Self.names, batchSize: 2,
                                                        load: { try ImageDecoder.decode(contentsOf: fixtureImage($0)) }) {
            _, _ throws(Stop) in
            delivered += 1
            if delivered == 3 { throw Stop() }
        }) { XCTAssertTrue($0 is Stop) }
        XCTAssertEqual(delivered, 3)
        // An empty sequence calls nothing.
        classifier.embedImages([String](), load: { _ in XCTFail("loaded"); throw Stop() }) { _, _ in XCTFail("delivered") }
    }

    /// The streaming classify, the array classify and `predictions` over the embeddings give the very same numbers.
    func testClassifyStreamingAndPredictionsAgreeExactly() throws {
        let classifier = try ZeroShotClassifier(directory: try fixtureModelDirectory())
        let labels = ["a cat", "a rocket", "a cup of coffee", "an astronaut", ""]
        let inputs = Self.names.map { ImageInput.file(fixtureImage($0)) }
        let whole = try classifier.classify(inputs, candidateLabels: labels).map { try $0.get() }
        var streamed: [[Prediction]] = []
        try classifier.classify(Self.names, candidateLabels: labels, load: { try ImageDecoder.decode(contentsOf: fixtureImage($0)) }) {
            _, result in streamed.append(try result.get())
        }
        XCTAssertEqual(streamed, whole)
        let embeddings = classifier.imageEmbeddings(inputs).map { try? $0.get() }.compactMap { $0 }
        let texts = try classifier.labelEmbeddings(labels, hypothesisTemplate: ZeroShotClassifier.defaultHypothesisTemplate)
        let relabelled = classifier.predictions(imageEmbeddings: embeddings, textEmbeddings: texts, candidateLabels: labels)
        XCTAssertEqual(relabelled, whole, "bit for bit")
        // One row alone gives the same as within all rows.
        XCTAssertEqual(classifier.predictions(imageEmbeddings: [embeddings[3]], textEmbeddings: texts, candidateLabels: labels)[0],
                       whole[3])
        XCTAssertEqual(whole[0].map(\.score).reduce(0, +), 1, accuracy: 1e-5)
        // Label errors come before any image is loaded.
        XCTAssertThrowsError(try classifier.classify(Self.names, candidateLabels: [], load: { _ in
            XCTFail("loaded")
            throw Stop()
        }) { _, _ in XCTFail("delivered") })
    }
}
