import CFFmpeg
import Foundation

/// A NUL-terminated C string held in an array.
func cText(_ chars: [CChar]) -> String {
    String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Codes and texts of FFmpeg's errors.
enum FF {
    static let eof = zs_averror_eof()
    static let eagain = zs_averror_eagain()
    static let noPTS = zs_nopts()
    static let timeBaseQ = zs_time_base_q()

    static func message(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        zs_error_text(code, &buffer, buffer.count)
        return cText(buffer)
    }

    /// FFmpeg logs to stderr by default; errors reach the caller through `VideoError` instead.
    static let quiet: Void = { av_log_set_level(AV_LOG_QUIET) }()
}

/// Where a video's bytes are.
enum VideoSource {
    /// A local file and the demuxer to force (FFmpeg's short name: "mov", "matroska", "avi", "mpegts"; nil: probe).
    case path(String, demuxer: String?)
    /// Bytes in memory (a download), read through a custom AVIOContext.
    case memory(MemoryBuffer, demuxer: String?)
}

/// A copy of a video's bytes that stays at one address while FFmpeg reads it.
final class MemoryBuffer: @unchecked Sendable {
    let bytes: UnsafeMutableRawBufferPointer

    init(_ data: Data) {
        bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, data.count), alignment: 64)
        _ = data.copyBytes(to: bytes)
        count = data.count
    }

    let count: Int

    deinit { bytes.deallocate() }
}

/// An opened container (libavformat) with the decoder (libavcodec) of its best video stream.
final class DemuxedVideo {
    let name: String
    private(set) var format: UnsafeMutablePointer<AVFormatContext>?
    private(set) var codec: UnsafeMutablePointer<AVCodecContext>?
    private var io: UnsafeMutablePointer<AVIOContext>?
    private var memorySource: UnsafeMutablePointer<zs_memory_source>?
    private let buffer: MemoryBuffer?
    let stream: UnsafeMutablePointer<AVStream>
    let streamIndex: Int32
    /// The frame size limit (pixels) the reader was given. The decoder refuses pictures far over it (its
    /// `max_pixels`, see below) before allocating them, whatever size the picture's own header gives: a VP8 key
    /// frame, an H.264 SPS, ... may state another size than the container, and change it mid-stream.
    let maxPixels: Int

    /// - Parameter maxPixels: the frame size limit, width x height.
    /// - Throws: `VideoError.cannotOpen`, `.noVideoStream`, `.codecUnavailable`.
    init(_ source: VideoSource, name: String, maxPixels: Int) throws {
        _ = FF.quiet
        self.name = name
        self.maxPixels = maxPixels
        var context = avformat_alloc_context()
        guard context != nil else { throw VideoError.cannotOpen(name, reason: "out of memory") }
        var options: OpaquePointer? = nil
        defer { av_dict_free(&options) }
        let url: String
        let demuxer: String?
        switch source {
        case .path(let path, let forced):
            url = "file:" + path
            demuxer = forced
            buffer = nil
            // Only the file protocol: no network, no pipes, nothing a crafted file could point to.
            av_dict_set(&options, "protocol_whitelist", "file", 0)
        case .memory(let memory, let forced):
            url = ""
            demuxer = forced
            buffer = memory
            let source = UnsafeMutablePointer<zs_memory_source>.allocate(capacity: 1)
            source.initialize(to: zs_memory_source(data: UnsafePointer(memory.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)),
                                                   size: Int64(memory.count), position: 0))
            memorySource = source
            io = zs_memory_io(source)
            guard io != nil else {
                avformat_free_context(context)
                source.deallocate()
                throw VideoError.cannotOpen(name, reason: "out of memory")
            }
            context!.pointee.pb = io
            context!.pointee.flags |= AVFMT_FLAG_CUSTOM_IO
            // Nothing is opened besides the bytes given ("none" matches no protocol).
            av_dict_set(&options, "protocol_whitelist", "none", 0)
        }
        var inputFormat: UnsafePointer<AVInputFormat>? = nil
        if let demuxer { inputFormat = av_find_input_format(demuxer) }
        let opened = avformat_open_input(&context, url, inputFormat, &options)
        if opened < 0 {
            // avformat_open_input freed the context; a custom AVIOContext stays ours.
            if io != nil { zs_memory_io_free(&io) }
            memorySource?.deallocate()
            memorySource = nil
            throw VideoError.cannotOpen(name, reason: FF.message(opened))
        }
        format = context
        let info = avformat_find_stream_info(context, nil)
        // Pick the video stream: FFmpeg's best, but never a cover picture (an attached picture of an audio file).
        var candidates: [Int32] = []
        for i in 0..<Int(context!.pointee.nb_streams) {
            guard let st = context!.pointee.streams[i] else { continue }
            if st.pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_VIDEO,
               st.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC == 0 {
                candidates.append(Int32(i))
            }
        }
        let streamCount = Int(context!.pointee.nb_streams)
        guard !candidates.isEmpty else {
            avformat_close_input(&format)
            if io != nil { zs_memory_io_free(&io) }
            memorySource?.deallocate()
            memorySource = nil
            if info < 0 { throw VideoError.cannotOpen(name, reason: FF.message(info)) }
            if streamCount == 0 { throw VideoError.cannotOpen(name, reason: "no streams found (a truncated or damaged header?)") }
            throw VideoError.noVideoStream(name)
        }
        let best = av_find_best_stream(context, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0)
        let index = candidates.contains(best) ? best : candidates[0]
        streamIndex = index
        stream = context!.pointee.streams[Int(index)]!
        // Only this stream's packets are needed.
        for i in 0..<Int(context!.pointee.nb_streams) where Int32(i) != index {
            context!.pointee.streams[i]!.pointee.discard = AVDISCARD_ALL
        }
        let parameters = stream.pointee.codecpar!
        guard let decoder = avcodec_find_decoder(parameters.pointee.codec_id) else {
            let codecName: String
            if parameters.pointee.codec_id == AV_CODEC_ID_NONE && parameters.pointee.codec_tag == 0 {
                // Matroska/WebM name codecs by a text id ("V_VP9"), which FFmpeg does not keep when it knows none.
                codecName = "(a codec id FFmpeg does not know)"
            } else if parameters.pointee.codec_id == AV_CODEC_ID_NONE {
                var tag = [CChar](repeating: 0, count: 32)
                zs_fourcc_text(parameters.pointee.codec_tag, &tag)
                codecName = "with tag \(cText(tag))"
            } else {
                codecName = String(cString: avcodec_get_name(parameters.pointee.codec_id))
            }
            avformat_close_input(&format)
            if io != nil { zs_memory_io_free(&io) }
            memorySource?.deallocate()
            memorySource = nil
            throw VideoError.codecUnavailable(name, codec: codecName)
        }
        var codecContext = avcodec_alloc_context3(decoder)
        var status = avcodec_parameters_to_context(codecContext, parameters)
        if status >= 0, let c = codecContext {
            c.pointee.pkt_timebase = stream.pointee.time_base
            // Frame and slice threads, one per core.
            c.pointee.thread_count = Int32(max(1, ProcessInfo.processInfo.activeProcessorCount))
            c.pointee.thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE
            // Checked by libavcodec (av_image_check_size2) where a decoder sets a picture size and where it allocates
            // one, there against the size padded for alignment (the width to 64, H.264's coded height to 16, at most
            // 1.54 times the pixels of a frame of 256x64 or more): twice the limit, so that frames under the limit are
            // not refused for their padding; each frame taken is checked against the limit itself (`.tooLarge`).
            let (padded, overflow) = max(1, maxPixels).multipliedReportingOverflow(by: 2)
            c.pointee.max_pixels = overflow ? Int64.max : Int64(padded)
            status = avcodec_open2(c, decoder, nil)
        }
        if status < 0 || codecContext == nil {
            // Read before the context is closed: `parameters` belongs to its stream.
            let codecName = String(cString: avcodec_get_name(parameters.pointee.codec_id))
            avcodec_free_context(&codecContext)
            avformat_close_input(&format)
            if io != nil { zs_memory_io_free(&io) }
            memorySource?.deallocate()
            memorySource = nil
            throw VideoError.cannotOpen(name, reason: "the \(codecName) decoder cannot be opened: "
                                        + (codecContext == nil ? "out of memory" : FF.message(status)))
        }
        codec = codecContext
    }

    deinit {
        avcodec_free_context(&codec)
        avformat_close_input(&format)
        if io != nil { zs_memory_io_free(&io) }
        memorySource?.deallocate()
        memorySource = nil
    }

    var timeBase: AVRational { stream.pointee.time_base }

    /// The container's start time in microseconds (the origin of `ffmpeg -ss`; 0 when it states none).
    var startMicroseconds: Int64 {
        let start = format!.pointee.start_time
        return start == FF.noPTS ? 0 : start
    }
}

/// A reference-counted decoded picture in the decoder's pixel format.
final class DecodedPicture: @unchecked Sendable {
    let frame: UnsafeMutablePointer<AVFrame>

    /// Takes ownership of `frame`.
    init(_ frame: UnsafeMutablePointer<AVFrame>) { self.frame = frame }

    deinit {
        var f: UnsafeMutablePointer<AVFrame>? = frame
        av_frame_free(&f)
    }
}

/// Decodes the frames of one video in presentation order, seeking ahead through the stream's index when the key
/// frame before the next target is after what was read so far (sparse targets), decoding on otherwise (dense
/// targets). A seek that lands past its target, lands before the position it started from, fails, or finds no
/// frame or lands on a frame that is no key frame makes the stream reopen the input and decode sequentially from
/// then on: it never loops.
final class FrameStream {
    private(set) var video: DemuxedVideo
    private let reopen: () throws -> DemuxedVideo
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var frame: UnsafeMutablePointer<AVFrame>?
    private var draining = false
    private var ended = false

    /// Whether seeking is allowed (switched off for good after a bad seek).
    var seekingEnabled: Bool
    /// Seeks done, and frames decoded (for tests).
    private(set) var seeks = 0
    private(set) var decodedFrames = 0
    /// Times the input was reopened after a bad seek (for tests).
    private(set) var fallbacks = 0

    private var maxPacketPTS = Int64.min
    private var maxPacketDTS = Int64.min
    private var lastSeekKey = Int64.min
    /// The largest pts - dts seen: the index of some containers (MP4) holds decoding times, so a key frame is
    /// looked up this much before a target.
    private var maxReorder: Int64 = 0
    private var pendingSeek: (target: Int64, before: Int64)?
    /// The last packet of the stream read: its timestamps and size (to tell a packet cut short by the file's end).
    private var lastPacket: (pts: Int64, dts: Int64, size: Int, pos: Int64)?
    private var lastPTS: Int64?
    private let frameDuration: Int64

    /// The last decoded frame's pts, and decoder errors since then.
    private(set) var lastDecodedPTS: Int64?
    /// The last frame decoded without errors, and whether the last frame had errors (data ending inside a frame).
    private(set) var lastGoodPTS: Int64?
    private(set) var lastFrameCorrupt = false
    private(set) var errorsSinceLastFrame = 0
    /// The decoder's distinct error texts (at most 4): since the last decoded frame, and in the whole pass.
    private(set) var errorsSinceFrame: [String] = []
    private(set) var errors: [String] = []
    private(set) var skippedPackets = 0
    private(set) var corruptFrames: [Int64] = []
    /// Why reading stopped before the end of the file (a demuxer error), if it did.
    private(set) var readError: String?

    init(_ video: DemuxedVideo, seeking: Bool, reopen: @escaping () throws -> DemuxedVideo) {
        self.video = video
        self.reopen = reopen
        seekingEnabled = seeking
        packet = av_packet_alloc()
        frame = av_frame_alloc()
        let st = video.stream.pointee
        var rate = st.avg_frame_rate
        if rate.num <= 0 || rate.den <= 0 { rate = st.r_frame_rate }
        if rate.num > 0 && rate.den > 0 {
            frameDuration = max(1, av_rescale_q(1, AVRational(num: rate.den, den: rate.num), st.time_base))
        } else {
            frameDuration = 1
        }
    }

    deinit {
        av_packet_free(&packet)
        av_frame_free(&frame)
    }

    /// The next decoded frame and its presentation timestamp (stream time base), or nil at the end.
    /// - Parameters:
    ///   - target: the pts of the next frame wanted (nil: every frame is wanted); used to seek and skip.
    ///   - skipNonReference: drop non-reference frames whose packet pts is before `target`
    ///     (`skip_frame = AVDISCARD_NONREF`).
    func next(target: Int64?, skipNonReference: Bool) throws -> (DecodedPicture, Int64)? {
        guard let codec = video.codec, let frame, let packet else { return nil }
        _ = codec
        while !ended {
            let codec = video.codec!
            let received = avcodec_receive_frame(codec, frame)
            if received == 0 {
                var pts = frame.pointee.best_effort_timestamp
                if pts == FF.noPTS { pts = frame.pointee.pts }
                if pts == FF.noPTS { pts = (lastPTS ?? -frameDuration) + frameDuration }
                let corrupt = frame.pointee.flags & AV_FRAME_FLAG_CORRUPT != 0 || frame.pointee.decode_error_flags != 0
                if corrupt { corruptFrames.append(pts) } else { lastGoodPTS = pts }
                lastFrameCorrupt = corrupt
                if let pending = pendingSeek {
                    pendingSeek = nil
                    if pts > pending.target || frame.pointee.key_frame == 0 || corrupt {
                        // Landed past the target, or not on a key frame (an index listing key frames where there
                        // are none): frames may have been skipped or decoded from missing references. Start again,
                        // sequentially.
                        try restartSequential()
                        av_frame_unref(frame)
                        continue
                    }
                    if pts <= pending.before { seekingEnabled = false }
                }
                lastPTS = pts
                lastDecodedPTS = pts
                decodedFrames += 1
                errorsSinceLastFrame = 0
                errorsSinceFrame = []
                guard let out = av_frame_alloc() else { throw VideoError.decodingStopped(video.name, time: nil, reason: "out of memory") }
                av_frame_move_ref(out, frame)
                return (DecodedPicture(out), pts)
            }
            if received == FF.eof {
                if pendingSeek != nil {
                    // A seek that found no frame at all: the index pointed past the end.
                    pendingSeek = nil
                    try restartSequential()
                    continue
                }
                ended = true
                checkIndexAtEnd()
                return nil
            }
            if received != FF.eagain {
                // A decoding error reported on output; go on with the next packet.
                errorsSinceLastFrame += 1
                note(received)
                if draining {
                    // A decoder that keeps failing while it drains: stop rather than spin.
                    if errorsSinceLastFrame > 1000 { ended = true; return nil }
                    continue
                }
            }
            if draining {
                // EAGAIN while draining cannot happen; stop rather than spin.
                ended = true
                return nil
            }
            if let target, seekingEnabled { try seekIfAhead(target) }
            let read = av_read_frame(video.format, packet)
            if read < 0 {
                if read != FF.eof { readError = FF.message(read) }
                avcodec_send_packet(codec, nil)
                draining = true
                continue
            }
            defer { av_packet_unref(packet) }
            guard packet.pointee.stream_index == video.streamIndex else { continue }
            let pts = packet.pointee.pts, dts = packet.pointee.dts
            lastPacket = (pts, dts, Int(packet.pointee.size), packet.pointee.pos)
            if dts != FF.noPTS { maxPacketDTS = max(maxPacketDTS, dts) }
            if pts != FF.noPTS {
                maxPacketPTS = max(maxPacketPTS, pts)
                if dts != FF.noPTS, pts > dts, pts - dts < Int64.max / 4 { maxReorder = max(maxReorder, pts - dts) }
            }
            if skipNonReference, let target, pts != FF.noPTS, pts < target {
                codec.pointee.skip_frame = AVDISCARD_NONREF
            } else {
                codec.pointee.skip_frame = AVDISCARD_DEFAULT
            }
            let sent = avcodec_send_packet(codec, packet)
            if sent < 0 && sent != FF.eagain && sent != FF.eof {
                skippedPackets += 1
                errorsSinceLastFrame += 1
                note(sent)
            }
        }
        return nil
    }

    /// Keeps FFmpeg's text of a decoding error. AVERROR(EINVAL) is also what a decoder returns for a picture over
    /// its `max_pixels` (FFmpeg logs the size, and logging is off), so that text names the limit too.
    private func note(_ code: Int32) {
        var text = FF.message(code)
        if code == -EINVAL { text += " (damaged data, or a picture over the limit of \(video.maxPixels) pixels)" }
        if !errorsSinceFrame.contains(text) && errorsSinceFrame.count < 4 { errorsSinceFrame.append(text) }
        if !errors.contains(text) && errors.count < 4 { errors.append(text) }
    }

    /// At the end of the file: whether the stream's index (MP4's sample tables) lists packets after the last one
    /// read, which means the file ends early (truncated).
    private func checkIndexAtEnd() {
        guard readError == nil, maxPacketDTS != Int64.min else { return }
        let st = video.stream
        let count = avformat_index_get_entries_count(st)
        guard count > 0 else { return }
        var last: Int64 = 0
        var isKey: Int32 = 0
        guard zs_index_entry(st, count - 1, &last, &isKey) == 0, last != FF.noPTS else { return }
        if last > maxPacketDTS {
            // Counted, not timed: the index holds decoding times, which are not the frames' presentation times.
            let read = av_index_search_timestamp(st, maxPacketDTS, AVSEEK_FLAG_ANY | AVSEEK_FLAG_BACKWARD)
            let missing = Int(count) - 1 - Int(max(-1, read))
            readError = "the file ends before the last \(missing) frame(s) its index lists: truncated or corrupt"
            return
        }
        // The last packet read shorter than its index entry states: the file ends inside it (MP4 reads what is left
        // of a sample without an error, and the decoder's rejection of it is not told from other errors).
        if let packet = lastPacket, packet.dts != FF.noPTS, packet.pos >= 0 {
            let index = av_index_search_timestamp(st, packet.dts, AVSEEK_FLAG_ANY | AVSEEK_FLAG_BACKWARD)
            var entryTime: Int64 = 0
            guard index >= 0, zs_index_entry(st, index, &entryTime, &isKey) == 0, entryTime == packet.dts else { return }
            // The entry of this very packet (several entries may share a broken timestamp).
            let size = Int(zs_index_entry_size(st, index, packet.pos))
            if size > packet.size {
                let time = packet.pts != FF.noPTS ? packet.pts : packet.dts
                let seconds = Double(time) * av_q2d(st.pointee.time_base)
                    - Double(video.startMicroseconds) / 1e6
                readError = "the file ends inside the frame at \(VideoTime.text(seconds)) s (\(packet.size) of its "
                    + "\(size) bytes): truncated"
            }
        }
    }

    /// Seeks to the key frame before `target` when it lies after everything read so far.
    private func seekIfAhead(_ target: Int64) throws {
        let st = video.stream
        let lookup = target > Int64.min + maxReorder ? target - maxReorder : target
        let index = av_index_search_timestamp(st, lookup, AVSEEK_FLAG_BACKWARD)
        guard index >= 0 else { return }
        var key: Int64 = 0
        var isKey: Int32 = 0
        guard zs_index_entry(st, index, &key, &isKey) == 0, isKey != 0 else { return }
        guard key != FF.noPTS, key > lastSeekKey else { return }
        // Worth a seek (flushing the decoder's threads) only when it skips more than a few frames: the key frame is
        // at least 0.5 s and 4 frames beyond the packets read.
        // Nothing read yet: decoding starts at the beginning anyway.
        guard maxPacketPTS != Int64.min else { return }
        let halfSecond = av_rescale_q(500_000, FF.timeBaseQ, st.pointee.time_base)
        guard key > maxPacketPTS, key - maxPacketPTS >= max(halfSecond, 4 * frameDuration) else { return }
        lastSeekKey = key
        let before = maxPacketPTS
        let status = av_seek_frame(video.format, video.streamIndex, key, AVSEEK_FLAG_BACKWARD)
        seeks += 1
        if status < 0 {
            try restartSequential()
            return
        }
        avcodec_flush_buffers(video.codec)
        draining = false
        pendingSeek = (target, before)
    }

    /// Reopens the input and decodes from its start without seeking (frames already delivered are recognised by
    /// their times and not delivered again).
    private func restartSequential() throws {
        fallbacks += 1
        seekingEnabled = false
        pendingSeek = nil
        video = try reopen()
        draining = false
        ended = false
        maxPacketPTS = Int64.min
        lastPTS = nil
    }
}
