import Foundation
import HTTPTypes
import XCTest
import ZeroShot
@testable import ZeroShotServer

/// The inference engine without HTTP: batching, the wait bound, the bounded queue, cancellation, failures of one
/// image, text jobs between batches, shutdown; with the tiny fixture checkpoint, or with the image tower replaced by
/// a stand-in that can be held to keep the engine busy.
final class EngineTests: XCTestCase {
    // MARK: - With the model

    func testEmbeddingEqualsTheClassifiersAtBatchOne() async throws {
        let classifier = try engineFixtureClassifier()
        let engine = InferenceEngine(classifier: classifier, maxBatch: 1, maxBatchWait: .milliseconds(5), maxQueue: 8,
                                     observer: .none)
        for name in ["chelsea.jpg", "rocket.jpg", "coffee_small.png", "astronaut_exif6.jpg"] {
            let bytes = try engineFixtureImage(name)
            let prepared = try await engine.prepare(bytes, field: "inputs")
            let (embedding, batchSize) = try await engine.imageEmbedding(prepared)
            XCTAssertEqual(batchSize, 1)
            let expected = try classifier.imageEmbeddings([.encoded(bytes)])[0].get()
            XCTAssertEqual(embedding, expected, name)
        }
        await engine.shutdown()
    }

    /// Eight concurrent images with maxBatch 4 run as two full batches, without waiting out the (long) batch wait;
    /// each embedding is the classifier's own to float32 rounding.
    func testFullBatchesRunAtOnceAndMatchTheClassifier() async throws {
        let classifier = try engineFixtureClassifier()
        let batches = EngineLog()
        let engine = InferenceEngine(classifier: classifier, maxBatch: 4, maxBatchWait: .seconds(20), maxQueue: 64,
                                     observer: .init(batch: { batches.append("\($0)") }))
        let names = ["chelsea.jpg", "rocket.jpg", "coffee_small.png", "astronaut_exif6.jpg", "camera_gray.png",
                     "imagenet_00_243.jpg", "cifar10_00_3.png", "coffee.webp"]
        let bytes = try names.map(engineFixtureImage)
        var prepared: [InferenceEngine.PreparedImage] = []
        for data in bytes { prepared.append(try await engine.prepare(data, field: "inputs")) }
        let images = prepared
        let start = ContinuousClock.now
        let results = try await withDeadline(seconds: 15) {
            try await withThrowingTaskGroup(of: (Int, [Float], Int).self) { group in
                for (i, image) in images.enumerated() {
                    group.addTask {
                        let (embedding, batchSize) = try await engine.imageEmbedding(image)
                        return (i, embedding, batchSize)
                    }
                }
                return try await group.reduce(into: [:]) { $0[$1.0] = ($1.1, $1.2) }
            }
        }
        XCTAssertLessThan(start.duration(to: .now), .seconds(10), "full batches waited for the batch wait")
        XCTAssertEqual(batches.entries, ["4", "4"])
        for (i, data) in bytes.enumerated() {
            let expected = try classifier.imageEmbeddings([.encoded(data)])[0].get()
            let (embedding, batchSize) = try XCTUnwrap(results[i])
            XCTAssertEqual(batchSize, 4)
            XCTAssertEqual(embedding.count, expected.count)
            for (a, b) in zip(embedding, expected) { XCTAssertEqual(a, b, accuracy: 1e-5, names[i]) }
        }
        await engine.shutdown()
    }

    /// N concurrent calls with maxBatch 4 and a 50 ms wait: every batch holds at most 4 images, and there are fewer
    /// batches than calls.
    func testConcurrentCallsAreBatched() async throws {
        let classifier = try engineFixtureClassifier()
        let batches = EngineLog()
        let engine = InferenceEngine(classifier: classifier, maxBatch: 4, maxBatchWait: .milliseconds(50), maxQueue: 64,
                                     observer: .init(batch: { batches.append("\($0)") }))
        let image = try await engine.prepare(try engineFixtureImage("chelsea.jpg"), field: "inputs")
        let n = 10
        let sizes = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<n { group.addTask { try await engine.imageEmbedding(image).batchSize } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let observed = batches.entries.compactMap { Int($0) }
        XCTAssertEqual(observed.reduce(0, +), n)
        XCTAssertTrue(observed.allSatisfy { $0 >= 1 && $0 <= 4 }, "\(observed)")
        XCTAssertLessThan(observed.count, n, "no batching: \(observed)")
        XCTAssertTrue(sizes.allSatisfy { $0 <= 4 })
        await engine.shutdown()
    }

    /// A lone image is not held for a batch that never fills: it runs once the batch wait is over.
    func testLoneCallRunsAfterTheBatchWait() async throws {
        let engine = InferenceEngine(classifier: try engineFixtureClassifier(), maxBatch: 16,
                                     maxBatchWait: .milliseconds(200), maxQueue: 8, observer: .none)
        let image = try await engine.prepare(try engineFixtureImage("rocket.jpg"), field: "inputs")
        let start = ContinuousClock.now
        let batchSize = try await withDeadline(seconds: 20) { try await engine.imageEmbedding(image).batchSize }
        XCTAssertEqual(batchSize, 1)
        // Loose: the wait (0.2 s) plus a tiny model's run on a busy machine.
        XCTAssertLessThan(start.duration(to: .now), .seconds(5))
        await engine.shutdown()
    }

    /// Bytes that are no image fail alone with 400 naming the field; the images sent with them are embedded.
    func testBadImageFailsOnlyItself() async throws {
        let batches = EngineLog()
        let engine = InferenceEngine(classifier: try engineFixtureClassifier(), maxBatch: 8,
                                     maxBatchWait: .milliseconds(100), maxQueue: 32,
                                     observer: .init(batch: { batches.append("\($0)") }))
        let inputs: [(String, Data)] = [
            ("chelsea.jpg", try engineFixtureImage("chelsea.jpg")),
            ("corrupt.png", try Data(contentsOf: engineFixtures.appendingPathComponent("images/corrupt.png"))),
            ("rocket.jpg", try engineFixtureImage("rocket.jpg")),
            ("not_an_image.txt", try Data(contentsOf: engineFixtures.appendingPathComponent("images/not_an_image.txt"))),
            ("coffee_small.png", try engineFixtureImage("coffee_small.png")),
        ]
        let outcomes = await withTaskGroup(of: (String, Result<Int, Error>).self) { group in
            for (name, data) in inputs {
                group.addTask {
                    do {
                        let image = try await engine.prepare(data, field: "inputs[\(name)]")
                        return (name, .success(try await engine.imageEmbedding(image).embedding.count))
                    } catch {
                        return (name, .failure(error))
                    }
                }
            }
            return await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        for name in ["chelsea.jpg", "rocket.jpg", "coffee_small.png"] {
            XCTAssertEqual(try outcomes[name]?.get(), engine.classifier.model.embeddingWidth, name)
        }
        for name in ["corrupt.png", "not_an_image.txt"] {
            guard case .failure(let error as ServerError)? = outcomes[name] else {
                return XCTFail("\(name): \(String(describing: outcomes[name]))")
            }
            XCTAssertEqual(error.status, .badRequest)
            XCTAssertTrue(error.message.hasPrefix("inputs[\(name)]: "), error.message)
        }
        XCTAssertEqual(batches.entries.compactMap { Int($0) }.reduce(0, +), 3)
        XCTAssertEqual(engine.queueDepth, 0)
        await engine.shutdown()
    }

    /// An image over the classifier's pixel limit is refused with 413 naming the field, before any model work.
    func testTooManyPixelsIs413() async throws {
        let classifier = try ZeroShotClassifier(directory: engineFixtureModel(), options: .init(maxPixels: 1000, warn: { _ in }))
        let engine = InferenceEngine(classifier: classifier, maxBatch: 4, maxBatchWait: .milliseconds(1), maxQueue: 4,
                                     prepareConcurrency: 1, observer: .none)
        do {
            _ = try await engine.prepare(try engineFixtureImage("chelsea.jpg"), field: "image")
            XCTFail("an image over maxPixels was decoded")
        } catch let error as ServerError {
            XCTAssertEqual(error.status, .contentTooLarge)
            XCTAssertTrue(error.message.hasPrefix("image: "), error.message)
        }
        XCTAssertEqual(engine.queueDepth, 0)
        await engine.shutdown()
    }

    /// Label and image calls at the same time: each text embedding is the classifier's, each image is embedded, and
    /// the label cache reports its misses then its hits.
    func testTextAndImageCallsTogether() async throws {
        let classifier = try engineFixtureClassifier()
        let cache = EngineLog()
        let engine = InferenceEngine(classifier: classifier, maxBatch: 4, maxBatchWait: .milliseconds(20), maxQueue: 64,
                                     observer: .init(labelCache: { cache.append("\($0)/\($1)") }))
        let reference = try ZeroShotClassifier(directory: engineFixtureModel(), options: .init(warn: { _ in }))
        let image = try await engine.prepare(try engineFixtureImage("chelsea.jpg"), field: "inputs")
        let labelSets = (0..<6).map { i in ["cat \(i)", "dog \(i)", "bird \(i)"] }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for labels in labelSets {
                group.addTask {
                    let embeddings = try await engine.labelEmbeddings(labels, hypothesisTemplate: "a photo of a {}.")
                    let expected = try reference.labelEmbeddings(labels, hypothesisTemplate: "a photo of a {}.")
                    XCTAssertEqual(embeddings, expected)
                }
                group.addTask {
                    let embedding = try await engine.imageEmbedding(image).embedding
                    XCTAssertEqual(embedding.count, classifier.model.embeddingWidth)
                }
            }
            try await group.waitForAll()
        }
        XCTAssertEqual(engine.queueDepth, 0)
        let before = cache.entries.count
        _ = try await engine.labelEmbeddings(labelSets[0], hypothesisTemplate: "a photo of a {}.")
        XCTAssertEqual(cache.entries.dropFirst(before), ["3/0"])
        let misses = cache.entries.prefix(before).compactMap { Int($0.split(separator: "/")[1]) }.reduce(0, +)
        XCTAssertEqual(misses, 18)
        do {
            _ = try await engine.labelEmbeddings(["x"], hypothesisTemplate: "{name}")
            XCTFail("an unfillable template was accepted")
        } catch ZeroShotError.invalidTemplate {}
        await engine.shutdown()
    }

    // MARK: - With a stand-in image tower

    /// One call past `maxQueue` gets 503 with Retry-After; the others finish.
    func testFullQueueIsRefusedWith503() async throws {
        let tower = StandInTower()
        let engine = try tower.engine(maxBatch: 1, maxQueue: 2)
        let a = Task { try await engine.imageEmbedding(tower.image(1)) }
        try await eventually { tower.runs.entries == ["1"] }
        let b = Task { try await engine.imageEmbedding(tower.image(2)) }
        try await eventually { engine.queueDepth == 2 }
        do {
            _ = try await withDeadline(seconds: 5) { try await engine.imageEmbedding(tower.image(3)) }
            XCTFail("a call past maxQueue was queued")
        } catch let error as ServerError {
            XCTAssertEqual(error.status, .serviceUnavailable)
            XCTAssertNotNil(error.headers[.retryAfter])
            XCTAssertTrue(error.message.contains("queue is full"), error.message)
        }
        // Text calls count against the same queue.
        do {
            _ = try await withDeadline(seconds: 5) { try await engine.textEmbeddings(["not cached yet"]) }
            XCTFail("a text call past maxQueue was queued")
        } catch let error as ServerError {
            XCTAssertEqual(error.status, .serviceUnavailable)
        }
        tower.release()
        let first = try await a.value, second = try await b.value
        XCTAssertEqual(first.embedding, [1])
        XCTAssertEqual(second.embedding, [2])
        XCTAssertEqual(tower.runs.entries, ["1", "2"])
        XCTAssertEqual(engine.queueDepth, 0)
        await engine.shutdown()
    }

    /// A request's calls made within `withRequestSlot` share its one slot: with maxQueue 1 a request doing a text
    /// and several image calls at once runs, and a second request meanwhile gets 503; the slot is free afterwards.
    func testRequestSlotIsSharedByItsCalls() async throws {
        let tower = StandInTower()
        let engine = try tower.engine(maxBatch: 4, maxQueue: 1)
        let request = Task {
            try await engine.withRequestSlot {
                try await withThrowingTaskGroup(of: [Float].self) { group in
                    for i in 1...3 { group.addTask { try await engine.imageEmbedding(tower.image(Float(i))).embedding } }
                    var embeddings: [[Float]] = []
                    for try await embedding in group { embeddings.append(embedding) }
                    return embeddings.sorted { $0[0] < $1[0] }
                }
            }
        }
        try await eventually { !tower.runs.entries.isEmpty }
        XCTAssertEqual(engine.queueDepth, 1)
        do {
            _ = try await withDeadline(seconds: 5) { try await engine.withRequestSlot { 0 } }
            XCTFail("a second request was admitted past maxQueue 1")
        } catch let error as ServerError {
            XCTAssertEqual(error.status, .serviceUnavailable)
        }
        tower.release()
        let embeddings = try await request.value
        XCTAssertEqual(embeddings, [[1], [2], [3]])
        XCTAssertEqual(engine.queueDepth, 0)
        let next = try await engine.withRequestSlot { 7 }
        XCTAssertEqual(next, 7)
        await engine.shutdown()
    }

    /// A caller cancelled while its image waits gets CancellationError at once (the engine still busy), frees its
    /// slot, and its image never runs.
    func testCancelledCallLeavesTheQueueAndIsNotRun() async throws {
        let tower = StandInTower()
        let depths = EngineLog()
        let engine = try tower.engine(maxBatch: 4, maxQueue: 2, observer: .init(queueDepth: { depths.append("\($0)") }))
        let a = Task { try await engine.imageEmbedding(tower.image(1)) }
        try await eventually { tower.runs.entries == ["1"] }
        let b = Task { try await engine.imageEmbedding(tower.image(7)) }
        try await eventually { engine.queueDepth == 2 }
        b.cancel()
        do {
            _ = try await withDeadline(seconds: 10) { try await b.value }
            XCTFail("a cancelled call returned")
        } catch is CancellationError {}
        XCTAssertEqual(engine.queueDepth, 1)
        // The slot is free again.
        let c = Task { try await engine.imageEmbedding(tower.image(9)) }
        try await eventually { engine.queueDepth == 2 }
        tower.release()
        _ = try await withDeadline(seconds: 10) { try await c.value }
        let first = try await a.value, third = try await c.value
        XCTAssertEqual(first.embedding, [1])
        XCTAssertEqual(third.embedding, [9])
        XCTAssertEqual(tower.runs.entries, ["1", "9"])
        XCTAssertEqual(engine.queueDepth, 0)
        XCTAssertEqual(depths.entries.last, "0")
        // A task cancelled before it calls is refused without being queued.
        let d = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await engine.imageEmbedding(tower.image(5))
        }
        do {
            _ = try await d.value
            XCTFail("a cancelled call returned")
        } catch is CancellationError {}
        XCTAssertEqual(tower.runs.entries, ["1", "9"])
        await engine.shutdown()
    }

    /// When the image tower fails on a batch, each image is run alone: only the image it fails on gets the error.
    func testModelFailureFailsOnlyItsImage() async throws {
        let tower = StandInTower(failing: 13)
        let engine = try tower.engine(maxBatch: 4, maxQueue: 8, hold: false, wait: .seconds(20))
        let results = await withTaskGroup(of: (Float, Result<[Float], Error>).self) { group in
            for marker: Float in [11, 12, 13, 14] {
                group.addTask {
                    do {
                        return (marker, .success(try await engine.imageEmbedding(tower.image(marker)).embedding))
                    } catch {
                        return (marker, .failure(error))
                    }
                }
            }
            return await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        for marker: Float in [11, 12, 14] { XCTAssertEqual(try results[marker]?.get(), [marker]) }
        guard case .failure(let error as ServerError)? = results[13] else { return XCTFail("\(String(describing: results[13]))") }
        XCTAssertEqual(error.status, .internalServerError)
        XCTAssertTrue(error.message.contains("stand-in failure"), error.message)
        XCTAssertEqual(tower.runs.entries.first?.split(separator: ",").count, 4)  // the batch, then one by one
        await engine.shutdown()
    }

    /// Decoding runs on worker threads, never more than `prepareConcurrency` at a time and never on the engine
    /// thread; a prepare call cancelled while it waits for a worker is never run.
    func testPrepareIsBoundedAndOffTheEngineThread() async throws {
        let tower = StandInTower()
        let engine = try tower.engine(maxBatch: 1, maxQueue: 16, prepareConcurrency: 2)
        // The engine thread is busy with a held batch meanwhile: decoding does not wait for it.
        let held = Task { try await engine.imageEmbedding(tower.image(1)) }
        try await eventually { tower.runs.entries == ["1"] }
        let probe = PrepareProbe()
        let image = tower.image(2)
        let calls = (0..<6).map { i in
            Task { try await engine.queue.submitPrepare { probe.run(i, image) } }
        }
        try await eventually { probe.started.count == 2 }
        // The others wait for a worker; cancel one of them.
        try await eventually { engine.queueDepth == 7 }
        let waiting = (0..<6).first { !probe.started.contains($0) }!
        calls[waiting].cancel()
        probe.open()
        for (i, call) in calls.enumerated() {
            let result = await call.result
            if i == waiting {
                XCTAssertThrowsError(try result.get()) { XCTAssertTrue($0 is CancellationError, "\($0)") }
            } else {
                XCTAssertNoThrow(try result.get())
            }
        }
        XCTAssertEqual(probe.started.count, 5)
        XCTAssertFalse(probe.started.contains(waiting))
        XCTAssertLessThanOrEqual(probe.mostAtOnce, 2)
        XCTAssertEqual(probe.threadNames.filter { $0 == "zeroshot-engine" }, [])
        tower.release()
        _ = try await held.value
        await engine.shutdown()
    }

    /// Text jobs queued while a batch runs go before the images queued ahead of them.
    func testTextJobsRunBetweenBatches() async throws {
        let tower = StandInTower()
        let trace = EngineLog()
        let engine = try tower.engine(maxBatch: 1, maxQueue: 8, trace: { trace.append($0) })
        let a = Task { try await engine.imageEmbedding(tower.image(1)) }
        try await eventually { tower.runs.entries == ["1"] }
        let b = Task { try await engine.imageEmbedding(tower.image(2)) }
        let c = Task { try await engine.imageEmbedding(tower.image(3)) }
        try await eventually { engine.queueDepth == 3 }
        let text = Task { try await engine.textEmbeddings(["a red car", "a blue boat"]) }
        try await eventually { engine.queueDepth == 4 }
        tower.release()
        let embeddings = try await text.value
        _ = try await (a.value, b.value, c.value)
        XCTAssertEqual(trace.entries, ["image:1", "text", "image:1", "image:1"])
        XCTAssertEqual(embeddings, try engineReferenceClassifier().textEmbeddings(["a red car", "a blue boat"]))
        await engine.shutdown()
    }

    /// Shutdown refuses new calls and finishes every queued one before it returns.
    func testShutdownFinishesQueuedWork() async throws {
        let tower = StandInTower()
        let engine = try tower.engine(maxBatch: 2, maxQueue: 8)
        let a = Task { try await engine.imageEmbedding(tower.image(1)) }
        try await eventually { tower.runs.entries == ["1"] }
        let queued = (2...4).map { marker in Task { try await engine.imageEmbedding(tower.image(Float(marker))) } }
        let text = Task { try await engine.textEmbeddings(["a quiet street"]) }
        try await eventually { engine.queueDepth == 5 }
        let stopped = EngineLog()
        let shutdown = Task {
            await engine.shutdown()
            stopped.append("stopped")
        }
        try await eventually { engine.isShuttingDown }
        do {
            _ = try await withDeadline(seconds: 5) { try await engine.imageEmbedding(tower.image(5)) }
            XCTFail("a call was queued during shutdown")
        } catch let error as ServerError {
            XCTAssertEqual(error.status, .serviceUnavailable)
        }
        XCTAssertEqual(stopped.entries, [])
        tower.release()
        await shutdown.value
        let first = try await a.value
        XCTAssertEqual(first.embedding, [1])
        for (marker, task) in zip(2..., queued) {
            let result = try await task.value
            XCTAssertEqual(result.embedding, [Float(marker)])
        }
        let texts = try await text.value
        XCTAssertEqual(texts.count, 1)
        XCTAssertEqual(engine.queueDepth, 0)
        // The held run, then the three queued images in batches of at most 2 (in the order they were queued).
        let runs = tower.runs.entries
        XCTAssertEqual(runs.first, "1")
        XCTAssertEqual(runs.dropFirst().map { $0.split(separator: ",").count }, [2, 1])
        XCTAssertEqual(runs.dropFirst().flatMap { $0.split(separator: ",") }.sorted(), ["2", "3", "4"])
    }
}

// MARK: - Helpers

private let engineFixtures = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

private func engineFixtureModel() -> URL {
    engineFixtures.appendingPathComponent("models/tiny-f16")
}

private func engineFixtureClassifier() throws -> ZeroShotClassifier {
    try ZeroShotClassifier(directory: engineFixtureModel(), options: .init(warn: { _ in }))
}

private func engineReferenceClassifier() throws -> ZeroShotClassifier { try engineFixtureClassifier() }

private func engineFixtureImage(_ name: String) throws -> Data {
    try Data(contentsOf: engineFixtures.appendingPathComponent("pipeline/images").appendingPathComponent(name))
}

/// Waits (polling) until `condition` holds; fails after 10 s.
private func eventually(_ condition: @Sendable () -> Bool, file: StaticString = #filePath, line: UInt = #line) async throws {
    let deadline = ContinuousClock.now.advanced(by: .seconds(10))
    while !condition() {
        if ContinuousClock.now > deadline {
            XCTFail("condition not met within 10 s", file: file, line: line)
            throw CancellationError()
        }
        try await Task.sleep(for: .milliseconds(2))
    }
}

private struct DeadlineExceeded: Error {}

/// `body`'s result, or `DeadlineExceeded` after `seconds` (so that a hang fails instead of blocking the suite; a
/// body that ignores cancellation is left running).
private func withDeadline<T: Sendable>(seconds: Int, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let work = Task { try await body() }
    return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
        let once = ResumeOnce(continuation)
        Task { once.resume(with: await work.result) }
        Task {
            try? await Task.sleep(for: .seconds(seconds))
            work.cancel()
            once.resume(with: .failure(DeadlineExceeded()))
        }
    }
}

/// Resumes a continuation with the first result given.
private final class ResumeOnce<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, Error>?

    init(_ continuation: CheckedContinuation<T, Error>) {
        self.continuation = continuation
    }

    func resume(with result: Result<T, Error>) {
        lock.lock()
        let continuation = self.continuation
        self.continuation = nil
        lock.unlock()
        continuation?.resume(with: result)
    }
}

/// Strings appended from several threads.
final class EngineLog: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []

    func append(_ entry: String) {
        lock.lock()
        list.append(entry)
        lock.unlock()
    }

    var entries: [String] {
        lock.lock()
        defer { lock.unlock() }
        return list
    }
}

/// An image tower that gives each image its first pixel value as a 1-wide embedding, logs the markers of each run
/// ("1", "2,3"), holds its first run until `release()` (to keep the engine busy) and fails every run that holds the
/// `failing` marker.
private final class StandInTower: @unchecked Sendable {
    let runs = EngineLog()
    private let gate = DispatchSemaphore(value: 0)
    private let failing: Float?
    private let lock = NSLock()
    private var held = false
    private var perImage = 0

    init(failing: Float? = nil) {
        self.failing = failing
    }

    func release() { gate.signal() }

    func image(_ marker: Float) -> InferenceEngine.PreparedImage {
        InferenceEngine.PreparedImage(pixelValues: [Float](repeating: marker, count: perImage), width: 1, height: 1)
    }

    func engine(maxBatch: Int, maxQueue: Int, hold: Bool = true, wait: Duration = .milliseconds(1),
                prepareConcurrency: Int? = nil, observer: InferenceEngine.Observer = .none,
                trace: (@Sendable (String) -> Void)? = nil) throws -> InferenceEngine {
        let classifier = try engineFixtureClassifier()
        perImage = 3 * classifier.model.imageSize * classifier.model.imageSize
        held = !hold
        let perImage = self.perImage
        return InferenceEngine(classifier: classifier, maxBatch: maxBatch, maxBatchWait: wait, maxQueue: maxQueue,
                               prepareConcurrency: prepareConcurrency, observer: observer, embed: { [self] pixels, count in
            let markers = (0..<count).map { pixels[$0 * perImage] }
            runs.append(markers.map { String(Int($0)) }.joined(separator: ","))
            lock.lock()
            let first = !held
            held = true
            lock.unlock()
            if first { gate.wait() }
            if let failing, markers.contains(failing) { throw StandInFailure() }
            return markers.map { [$0] }
        }, trace: trace)
    }
}

/// Prepare work that records which calls started, how many ran at once and on which threads, and holds each call
/// until `open()`.
private final class PrepareProbe: @unchecked Sendable {
    private let lock = NSLock()
    private let gate = DispatchSemaphore(value: 0)
    private var startedList: [Int] = []
    private var running = 0
    private var most = 0
    private var names: [String] = []

    var started: [Int] { lock.withLock { startedList } }
    var mostAtOnce: Int { lock.withLock { most } }
    var threadNames: [String] { lock.withLock { names } }

    func open() { gate.signal() }

    func run(_ i: Int, _ image: InferenceEngine.PreparedImage) -> InferenceEngine.PreparedImage {
        lock.withLock {
            startedList.append(i)
            running += 1
            most = max(most, running)
            names.append(Thread.current.name ?? "")
        }
        // Held until opened; then each call lets the next one through.
        gate.wait()
        gate.signal()
        lock.withLock { running -= 1 }
        return image
    }
}

private struct StandInFailure: LocalizedError {
    var errorDescription: String? { "stand-in failure" }
}
