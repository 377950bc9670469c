import Foundation
import XCTest
@testable import ZeroShot

final class LRUCacheTests: XCTestCase {
    func testEvictsTheLeastRecentlyUsed() {
        var cache = LRUCache<String, Int>(capacity: 3)
        cache.insert(1, forKey: "a")
        cache.insert(2, forKey: "b")
        cache.insert(3, forKey: "c")
        XCTAssertEqual(cache.keysByRecency, ["c", "b", "a"])
        // Reading "a" makes it the most recently used: "b" goes first.
        XCTAssertEqual(cache.value(forKey: "a"), 1)
        XCTAssertEqual(cache.insert(4, forKey: "d"), "b")
        XCTAssertNil(cache.value(forKey: "b"))
        XCTAssertEqual(cache.keysByRecency, ["d", "a", "c"])
        // Writing a held key replaces its value and makes it the most recent, evicting nothing.
        XCTAssertNil(cache.insert(30, forKey: "c"))
        XCTAssertEqual(cache.keysByRecency, ["c", "d", "a"])
        XCTAssertEqual(cache.insert(5, forKey: "e"), "a")
        XCTAssertEqual(cache.keysByRecency, ["e", "c", "d"])
        XCTAssertEqual(cache.value(forKey: "c"), 30)
        XCTAssertEqual(cache.count, 3)
        // insertIfAbsent keeps the held value.
        cache.insertIfAbsent(99, forKey: "d")
        XCTAssertEqual(cache.value(forKey: "d"), 4)
        XCTAssertEqual(cache.keysByRecency.first, "d")
    }

    func testCapacityOneAndZero() {
        var one = LRUCache<Int, Int>(capacity: 1)
        one.insert(1, forKey: 1)
        XCTAssertEqual(one.insert(2, forKey: 2), 1)
        XCTAssertEqual(one.keysByRecency, [2])
        var none = LRUCache<Int, Int>(capacity: 0)
        XCTAssertNil(none.insert(1, forKey: 1))
        XCTAssertNil(none.value(forKey: 1))
        XCTAssertEqual(none.count, 0)
    }

    /// The cache against a plain model of LRU (an array ordered by use) over a random sequence of operations.
    func testMatchesAReferenceModel() {
        var generator = SystemRandomNumberGenerator()
        for capacity in [1, 2, 7, 50] {
            var cache = LRUCache<Int, Int>(capacity: capacity)
            var model: [(key: Int, value: Int)] = []  // most recent first
            for step in 0..<3000 {
                let key = Int.random(in: 0..<(capacity * 3), using: &generator)
                if Bool.random(using: &generator) {
                    let expected = model.firstIndex { $0.key == key }.map { model.remove(at: $0) }
                    if let expected { model.insert(expected, at: 0) }
                    XCTAssertEqual(cache.value(forKey: key), expected?.value, "step \(step)")
                } else {
                    var evicted: Int?
                    if let i = model.firstIndex(where: { $0.key == key }) {
                        model.remove(at: i)
                    } else if model.count == capacity {
                        evicted = model.removeLast().key
                    }
                    model.insert((key, step), at: 0)
                    XCTAssertEqual(cache.insert(step, forKey: key), evicted, "step \(step)")
                }
                XCTAssertEqual(cache.keysByRecency, model.map(\.key), "step \(step)")
            }
        }
    }
}

final class TextEmbeddingMemoryCacheTests: XCTestCase {
    private func classifier(capacity: Int, warnings: WarningLog? = nil) throws -> ZeroShotClassifier {
        let options = ZeroShotClassifier.Options(textEmbeddingMemoryCapacity: capacity,
                                                 warn: { message in warnings?.append(message) })
        return try ZeroShotClassifier(directory: fixtureModelDirectory(), options: options)
    }

    func testDefaultCapacity() throws {
        XCTAssertEqual(ZeroShotClassifier.Options().textEmbeddingMemoryCapacity, 16_384)
        XCTAssertEqual(try classifier(capacity: ZeroShotClassifier.Options.defaultTextEmbeddingMemoryCapacity)
            .textCacheStatistics.capacity, 16_384)
    }

    func testHitsAndMissesCounted() throws {
        let model = try classifier(capacity: 8)
        XCTAssertEqual(model.textCacheStatistics, .init(hits: 0, misses: 0, entries: 0, capacity: 8))
        _ = try model.textEmbeddings(["a cat", "a dog", "a cat"])
        XCTAssertEqual(model.textCacheStatistics, .init(hits: 0, misses: 3, entries: 2, capacity: 8))
        _ = try model.textEmbeddings(["a dog", "a bird"])
        XCTAssertEqual(model.textCacheStatistics, .init(hits: 1, misses: 4, entries: 3, capacity: 8))
        XCTAssertNotNil(model.cachedTextEmbeddings(["a cat", "a bird"]))
        XCTAssertNil(model.cachedTextEmbeddings(["a cat", "a fish"]))
        XCTAssertEqual(model.textCacheStatistics, .init(hits: 3, misses: 4, entries: 3, capacity: 8))
    }

    /// Many distinct labels never grow the cache past its capacity; the most recent stay, the oldest are forgotten
    /// and come back identical when asked again.
    func testCapacityHoldsUnderManyDistinctLabels() throws {
        let model = try classifier(capacity: 16)
        let labels = (0..<200).map { "label number \($0)" }
        var first: [String: [Float]] = [:]
        for chunk in stride(from: 0, to: labels.count, by: 25) {
            let texts = Array(labels[chunk..<(chunk + 25)])
            for (text, embedding) in zip(texts, try model.textEmbeddings(texts)) { first[text] = embedding }
            XCTAssertLessThanOrEqual(model.textCacheStatistics.entries, 16)
        }
        XCTAssertEqual(model.textCacheStatistics.entries, 16)
        // The last 16 are held, the first are not.
        XCTAssertNotNil(model.cachedTextEmbeddings(Array(labels.suffix(16))))
        XCTAssertNil(model.cachedTextEmbeddings([labels[0]]))
        // Recomputed (in a batch of other rows: equal to float32 rounding).
        let again = try model.textEmbeddings(Array(labels.prefix(5)))
        XCTAssertEqual(model.textCacheStatistics.misses, 205)
        for (text, embedding) in zip(labels.prefix(5), again) {
            let expected = try XCTUnwrap(first[text])
            for (a, b) in zip(embedding, expected) { XCTAssertEqual(a, b, accuracy: 1e-5, text) }
        }
        XCTAssertEqual(model.textCacheStatistics.entries, 16)
    }

    /// An evicted label is recomputed: it leaves the cache for the oldest, and `cachedTextEmbeddings` tells which.
    func testEvictionOrderFollowsUse() throws {
        let model = try classifier(capacity: 3)
        _ = try model.textEmbeddings(["one", "two", "three"])
        _ = try model.textEmbeddings(["one"])  // "two" is now the least recently used
        _ = try model.textEmbeddings(["four"])
        XCTAssertNil(model.cachedTextEmbeddings(["two"]))
        XCTAssertNotNil(model.cachedTextEmbeddings(["one", "three", "four"]))
    }

    /// Cached, uncached (capacity 0) and a fresh classifier give the same embeddings; texts that tokenize alike
    /// share one embedding; the truncation warning is given by every call that computes a truncated text.
    func testResultsIdenticalToUncached() throws {
        let warnings = WarningLog()
        let cached = try classifier(capacity: 64, warnings: warnings)
        let uncached = try classifier(capacity: 0, warnings: warnings)
        let long = Array(repeating: "word", count: 200).joined(separator: " ")
        let texts = ["a photo of a cat.", "a photo of  a cat.", "A photo of a dog.", "", long]
        let reference = try ZeroShotClassifier(directory: fixtureModelDirectory(),
                                               options: .init(warn: { _ in })).textEmbeddings(texts)
        for _ in 0..<2 {
            XCTAssertEqual(try cached.textEmbeddings(texts), reference)
            XCTAssertEqual(try uncached.textEmbeddings(texts), reference)
        }
        // "a photo of a cat." and "a photo of  a cat." tokenize alike: one embedding, bit for bit.
        XCTAssertEqual(reference[0], reference[1])
        XCTAssertEqual(try cached.textEmbeddings(["a photo of  a cat."])[0], try cached.textEmbeddings(["a photo of a cat."])[0])
        XCTAssertEqual(uncached.textCacheStatistics, .init(hits: 0, misses: 10, entries: 0, capacity: 0))
        XCTAssertNil(uncached.cachedTextEmbeddings(["a photo of a cat."]))
        // The cached classifier computed the long text once, the uncached one twice.
        let truncated = warnings.messages.filter { $0.contains("truncated") }
        XCTAssertEqual(truncated.count, 3, "\(warnings.messages)")
    }

    /// Several threads asking for overlapping label sets with a small cache: every answer is the reference
    /// embedding (to float32 rounding) and the counts add up.
    func testConcurrentCallers() throws {
        let model = try classifier(capacity: 10)
        let labels = (0..<40).map { "thing \($0)" }
        let reference = try ZeroShotClassifier(directory: fixtureModelDirectory(),
                                               options: .init(textEmbeddingMemoryCapacity: 0, warn: { _ in }))
            .textEmbeddings(labels)
        let failures = WarningLog()
        let calls = 8 * 30
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            var generator = SystemRandomNumberGenerator()
            for _ in 0..<30 {
                let picked = (0..<4).map { _ in Int.random(in: 0..<(10 + worker * 4), using: &generator) }
                do {
                    let embeddings = try model.textEmbeddings(picked.map { labels[$0] })
                    // Batches of other rows may round differently in the last bits.
                    for (i, embedding) in zip(picked, embeddings)
                    where zip(embedding, reference[i]).contains(where: { abs($0 - $1) > 1e-5 }) {
                        failures.append("\(labels[i]) differs")
                    }
                } catch {
                    failures.append("\(error)")
                }
            }
        }
        XCTAssertEqual(failures.messages, [])
        let statistics = model.textCacheStatistics
        XCTAssertEqual(statistics.hits + statistics.misses, calls * 4)
        XCTAssertGreaterThan(statistics.hits, 0)
        XCTAssertLessThanOrEqual(statistics.entries, 10)
    }
}

/// Messages collected from several threads.
final class WarningLog: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []

    func append(_ message: String) {
        lock.lock()
        list.append(message)
        lock.unlock()
    }

    var messages: [String] {
        lock.lock()
        defer { lock.unlock() }
        return list
    }
}
