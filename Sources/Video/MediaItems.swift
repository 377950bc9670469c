import Foundation
import ImageIO
import Inputs
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One unit of work of a run over images and videos, in input order.
public enum MediaItem: @unchecked Sendable {
    /// A still image (or an input that is not a video): read and decode it as before (`bytes`: already downloaded).
    case image(index: Int, entry: InputEntry, bytes: LoadedInput?)
    /// A sampled frame of the video `entry`.
    case frame(index: Int, entry: InputEntry, frame: VideoFrame)
    /// A video that could not be opened, or where decoding stopped (its frames before this item were delivered);
    /// also a URL whose download failed (then no `.videoEnd` follows).
    case failure(index: Int, entry: InputEntry, error: Error)
    /// A video is done: sent after its last frame (and after its failure, if any).
    case videoEnd(index: Int, entry: InputEntry, summary: VideoSummary)

    /// The position of the entry in the input list.
    public var index: Int {
        switch self {
        case .image(let i, _, _), .frame(let i, _, _), .failure(let i, _, _), .videoEnd(let i, _, _): return i
        }
    }

    public var entry: InputEntry {
        switch self {
        case .image(_, let e, _), .frame(_, let e, _), .failure(_, let e, _), .videoEnd(_, let e, _): return e
        }
    }
}

/// Expands inputs into images and sampled video frames, in input order.
///
/// - Inputs are recognised by content: a local file by its first `ContentKind.headerLength` bytes (files named
///   explicitly as well as walked ones), a URL once downloaded with `loader` (within its `maxDownloadBytes`;
///   up to 4 URLs ahead download at once, delivered in input order).
///   A file that cannot be opened to be sniffed is passed on as `.image` (loading it reports the error as before);
///   a download that fails is a `.failure` (no `.videoEnd` follows: it is not known to be a video).
/// - A video gives its sampled frames (`.frame`), then `.failure` if it could not be opened or decoding stopped
///   (after the frames before that point), then `.videoEnd` with its summary. A local video is opened by path, a
///   downloaded one from memory.
/// - Everything is produced on one background thread, ahead of the consumer, through a bounded queue of
///   `queueCapacity` items (so decoding overlaps the image tower and at most that many decoded pictures wait);
///   the thread stops when the iterator is released. Frames hold the decoded picture (not RGB) until
///   `VideoFrame.rgbImage()` (or `image(_:)`) converts it.
public struct MediaItems: Sequence, Sendable {
    public let entries: [InputEntry]
    public let loader: InputLoader
    public let sampling: VideoSampling
    public let maxPixels: Int
    /// Items the producer may be ahead of the consumer: two batches of the image tower at its default size (16),
    /// so that the decoder goes on while a batch runs instead of waiting for the consumer to take the next one
    /// (a 1080p 4:2:0 picture holds 3 MB: about 100 MB waiting at most).
    public var queueCapacity = 32

    public init(_ entries: [InputEntry], loader: InputLoader, sampling: VideoSampling,
                maxPixels: Int = ImageDecoder.defaultMaxPixels) {
        self.entries = entries
        self.loader = loader
        self.sampling = sampling
        self.maxPixels = maxPixels
    }

    public struct Iterator: IteratorProtocol {
        let items: MediaItems
        private(set) var producer: Producer?
        private var token: CancelToken?

        init(items: MediaItems) { self.items = items }

        public mutating func next() -> MediaItem? {
            if producer == nil {
                guard !items.entries.isEmpty else { return nil }
                let channel = Channel(capacity: Swift.max(1, items.queueCapacity))
                let producer = Producer(items: items, channel: channel)
                self.producer = producer
                token = CancelToken(channel)
                let thread = Thread { producer.run() }
                thread.name = "zeroshot.video-decoder"
                thread.stackSize = 4 << 20
                thread.start()
            }
            return producer!.channel.pop()
        }
    }

    public func makeIterator() -> Iterator { Iterator(items: self) }

    /// What an input holds: nil when it cannot be told (the file cannot be opened for reading).
    static func sniffLocal(_ url: URL) -> (kind: ContentKind, audio: String?)? {
        guard let header = try? ContentKind.header(ofFile: url.path).get() else { return nil }
        return header.withUnsafeBytes { (ContentKind.sniff($0), ContentKind.audioContainer($0)) }
    }

    /// The RGB pixels of an `.image` or `.frame` item (EXIF orientation applied to images; see
    /// `VideoFrame.rgbImage`); `.failure` throws its error. Call on a worker thread (the `load` of
    /// `ZeroShotClassifier.embedImages`).
    public func image(_ item: MediaItem) throws -> RGBImage {
        switch item {
        case .image(_, let entry, let bytes):
            do {
                if let bytes { return try ImageDecoder.decode(bytes.bytes, maxPixels: maxPixels, source: entry.name) }
                return try loader.image(entry, maxPixels: maxPixels)
            } catch let error as ImageIOError where error.kind == .notAnImage {
                // Videos are taken too: say so, rather than only naming the image formats.
                throw MediaItemsError.notAnImageOrVideo(entry.name, reason: error.reason)
            }
        case .frame(_, _, let frame):
            return try frame.rgbImage()
        case .failure(_, _, let error):
            throw error
        case .videoEnd:
            throw MediaItemsError.notAnImage
        }
    }
}

/// Errors of `MediaItems.image`.
public enum MediaItemsError: Error, LocalizedError, CustomStringConvertible, Equatable {
    /// `.videoEnd` carries no picture (a misuse).
    case notAnImage
    /// An input that is neither an image nor a video (`reason`: the image decoder's, e.g. "the data is empty").
    case notAnImageOrVideo(String, reason: String)

    public var description: String {
        switch self {
        case .notAnImage:
            return "a video's end marker carries no picture"
        case .notAnImageOrVideo(let name, let reason):
            let why = reason.hasPrefix("not an image (the data is empty") ? "the file is empty"
                : "no JPEG, PNG, WebP, GIF or BMP signature, nor that of a video container: MP4/MOV, Matroska/WebM, AVI, MPEG-TS"
            return "\(name): not an image or a video (\(why))"
        }
    }

    public var errorDescription: String? { description }
}

/// The bounded queue between the producer thread and the iterator.
final class Channel: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [MediaItem] = []
    private var head = 0
    private var finished = false
    private(set) var cancelled = false
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// Waits for room; false when the consumer is gone (the producer stops).
    func push(_ item: MediaItem) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count - head >= capacity && !cancelled { condition.wait() }
        if cancelled { return false }
        items.append(item)
        condition.broadcast()
        return true
    }

    /// The next item, waiting for the producer; nil once it finished and everything was taken.
    func pop() -> MediaItem? {
        condition.lock()
        defer { condition.unlock() }
        while head == items.count && !finished { condition.wait() }
        guard head < items.count else { return nil }
        let item = items[head]
        head += 1
        if head > 64 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        condition.broadcast()
        return item
    }

    func finish() {
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    func cancel() {
        condition.lock()
        cancelled = true
        items.removeAll()
        head = 0
        condition.broadcast()
        condition.unlock()
    }

    var isFinished: Bool {
        condition.lock()
        defer { condition.unlock() }
        return finished
    }

    var isCancelled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelled
    }
}

/// Cancels the producer when the iterator that holds it is released.
final class CancelToken {
    let channel: Channel
    init(_ channel: Channel) { self.channel = channel }
    deinit { channel.cancel() }
}

/// The consumer went away.
struct ProducerCancelled: Error {}

/// Walks the entries on the background thread.
final class Producer: @unchecked Sendable {
    let items: MediaItems
    let channel: Channel

    init(items: MediaItems, channel: Channel) {
        self.items = items
        self.channel = channel
    }

    /// Downloads run this many URLs ahead, concurrently (their order of delivery stays the input order).
    static let downloadsAhead = 4

    /// One download in flight.
    final class Download: @unchecked Sendable {
        let done = DispatchSemaphore(value: 0)
        var result: Result<LoadedInput, Error> = .failure(CancellationError())
    }

    private var downloads: [Int: Download] = [:]

    /// Starts the downloads of the URLs among the next `downloadsAhead` entries from `index` that are not started.
    private func startDownloads(from index: Int) {
        let end = min(items.entries.count, index + Self.downloadsAhead)
        guard index < end else { return }
        for j in index..<end where downloads[j] == nil {
            guard case .remote = items.entries[j].location else { continue }
            let download = Download()
            downloads[j] = download
            let loader = items.loader, entry = items.entries[j]
            DispatchQueue.global().async {
                download.result = Result { try loader.load(entry) }
                download.done.signal()
            }
        }
    }

    func run() {
        defer { channel.finish() }
        for (index, entry) in items.entries.enumerated() {
            if channel.isCancelled { return }
            startDownloads(from: index)
            let ok: Bool
            switch entry.location {
            case .file(let url):
                let sniffed = MediaItems.sniffLocal(url)
                if case .video(let container) = sniffed?.kind {
                    ok = video(index, entry, container: container) {
                        try VideoReader(path: url.path, name: entry.name, container: container, maxPixels: items.maxPixels)
                    }
                } else if sniffed?.kind == .other, sniffed?.audio != nil {
                    // An audio-only MP4 (M4A, ...) named explicitly: no video stream, as an audio-only MP4 video says.
                    ok = channel.push(.failure(index: index, entry: entry, error: VideoError.noVideoStream(entry.name)))
                        && channel.push(.videoEnd(index: index, entry: entry, summary: VideoSummary()))
                } else {
                    ok = channel.push(.image(index: index, entry: entry, bytes: nil))
                }
            case .remote:
                let loaded: LoadedInput
                do {
                    guard let download = downloads.removeValue(forKey: index) else { throw CancellationError() }
                    download.done.wait()
                    loaded = try download.result.get()
                } catch {
                    ok = channel.push(.failure(index: index, entry: entry, error: error))
                    if !ok { return }
                    continue
                }
                let kind = loaded.bytes.prefix(ContentKind.headerLength).withUnsafeBytes { ContentKind.sniff($0) }
                if case .video(let container) = kind {
                    ok = video(index, entry, container: container,
                               download: (loaded.size, SHA256.hex(loaded.bytes))) {
                        try VideoReader(data: loaded.bytes, name: entry.name, container: container, maxPixels: items.maxPixels)
                    }
                } else if kind == .other,
                          loaded.bytes.prefix(16).withUnsafeBytes({ ContentKind.audioContainer($0) }) != nil {
                    ok = channel.push(.failure(index: index, entry: entry, error: VideoError.noVideoStream(entry.name)))
                        && channel.push(.videoEnd(index: index, entry: entry, summary: VideoSummary()))
                } else {
                    ok = channel.push(.image(index: index, entry: entry, bytes: loaded))
                }
            }
            if !ok { return }
        }
    }

    /// Decodes one video into the channel; false when the consumer is gone.
    /// `download`: the size and SHA-256 of a downloaded video, passed on in its summary.
    private func video(_ index: Int, _ entry: InputEntry, container: String,
                       download: (size: Int, sha256: String)? = nil, open: () throws -> VideoReader) -> Bool {
        let reader: VideoReader
        do {
            reader = try open()
        } catch {
            var summary = VideoSummary()
            summary.download = download
            return channel.push(.failure(index: index, entry: entry, error: error))
                && channel.push(.videoEnd(index: index, entry: entry, summary: summary))
        }
        var (summary, error) = reader.sample(items.sampling) { frame in
            guard channel.push(.frame(index: index, entry: entry, frame: frame)) else { throw ProducerCancelled() }
        }
        if error is ProducerCancelled { return false }
        summary.download = download
        if let error, !channel.push(.failure(index: index, entry: entry, error: error)) { return false }
        return channel.push(.videoEnd(index: index, entry: entry, summary: summary))
    }
}
