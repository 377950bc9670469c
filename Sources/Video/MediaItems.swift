import Foundation
import ImageIO
import Inputs

/// One unit of work of a run over images and videos, in input order.
public enum MediaItem: @unchecked Sendable {
    /// A still image (or an input that is not a video): read and decode it as before (`bytes`: already downloaded).
    case image(index: Int, entry: InputEntry, bytes: LoadedInput?)
    /// A sampled frame of the video `entry`.
    case frame(index: Int, entry: InputEntry, frame: VideoFrame)
    /// A video that could not be opened, or where decoding stopped (its frames before this item were delivered).
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

/// Expands inputs into images and sampled video frames, in input order. Inputs are recognised by content (a local
/// file's first bytes, a URL once downloaded); videos are decoded on a background thread ahead of the consumer
/// (a bounded queue), so decoding overlaps the image tower.
public struct MediaItems: Sequence, Sendable {
    public let entries: [InputEntry]
    public let loader: InputLoader
    public let sampling: VideoSampling
    public let maxPixels: Int

    public init(_ entries: [InputEntry], loader: InputLoader, sampling: VideoSampling,
                maxPixels: Int = ImageDecoder.defaultMaxPixels) {
        self.entries = entries
        self.loader = loader
        self.sampling = sampling
        self.maxPixels = maxPixels
    }

    public struct Iterator: IteratorProtocol {
        let items: MediaItems
        var position = 0

        public mutating func next() -> MediaItem? {
            guard position < items.entries.count else { return nil }
            defer { position += 1 }
            return .image(index: position, entry: items.entries[position], bytes: nil)
        }
    }

    public func makeIterator() -> Iterator { Iterator(items: self) }

    /// The RGB pixels of an `.image` or `.frame` item (EXIF orientation applied to images; see
    /// `VideoFrame.rgbImage`); `.failure` throws its error. Call on a worker thread (the `load` of
    /// `ZeroShotClassifier.embedImages`).
    public func image(_ item: MediaItem) throws -> RGBImage {
        switch item {
        case .image(_, let entry, let bytes):
            if let bytes { return try ImageDecoder.decode(bytes.bytes, maxPixels: maxPixels, source: entry.name) }
            return try loader.image(entry, maxPixels: maxPixels)
        case .frame(_, _, let frame):
            return try frame.rgbImage()
        case .failure(_, _, let error):
            throw error
        case .videoEnd:
            throw MediaItemsError.notAnImage
        }
    }
}

/// Misuse of `MediaItems.image`.
public enum MediaItemsError: Error, LocalizedError {
    /// `.videoEnd` carries no picture.
    case notAnImage
    public var errorDescription: String? { "a video's end marker carries no picture" }
}
