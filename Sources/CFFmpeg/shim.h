// FFmpeg's libraries (Debian packages libavformat-dev, libavcodec-dev, libswscale-dev, libavutil-dev; FFmpeg 5.1):
// demuxing, decoding, pixel-format conversion. Only the Video target imports this module.
//
// Besides the headers: small inline helpers for what Swift cannot import (function-like macros such as AVERROR,
// AV_NOPTS_VALUE, AV_TIME_BASE_Q, index entries with bit fields), the read/seek callbacks of a video held in memory,
// and the plane operations of the `ffmpeg` command's autorotate filters (transpose, hflip+vflip) and of the `select`
// filter's scene score (sum of absolute differences), which libavfilter does not export.
#ifndef ZS_CFFMPEG_SHIM_H
#define ZS_CFFMPEG_SHIM_H

#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>
#include <libavutil/avutil.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libavutil/opt.h>
#include <libavutil/mathematics.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

static inline int zs_averror_eof(void) { return AVERROR_EOF; }
static inline int zs_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int zs_averror_stream_not_found(void) { return AVERROR_STREAM_NOT_FOUND; }
static inline int zs_averror_decoder_not_found(void) { return AVERROR_DECODER_NOT_FOUND; }
static inline int64_t zs_nopts(void) { return AV_NOPTS_VALUE; }
static inline AVRational zs_time_base_q(void) { return AV_TIME_BASE_Q; }

/// FFmpeg's message for an error code (av_strerror).
static inline void zs_error_text(int code, char *buffer, size_t size) {
    if (av_strerror(code, buffer, size) < 0) snprintf(buffer, size, "error %d", code);
}

/// The codec tag as text ("ZZZZ" or "[0][0][0][0]").
static inline void zs_fourcc_text(uint32_t tag, char *buffer) {
    av_fourcc_make_string(buffer, tag);
}

/// Entry `idx` of the stream's index: its timestamp (stream time base) and whether it is a key frame.
static inline int zs_index_entry(AVStream *st, int idx, int64_t *timestamp, int *keyframe) {
    const AVIndexEntry *e = avformat_index_get_entry(st, idx);
    if (!e) return -1;
    *timestamp = e->timestamp;
    *keyframe = (e->flags & AVINDEX_KEYFRAME) != 0;
    return 0;
}

/// The size in bytes of the index entry `idx` of a stream when that entry is at byte `pos` of the file (0 when
/// the index states no size), or -1 when there is no such entry.
static inline int zs_index_entry_size(AVStream *st, int idx, int64_t pos) {
    const AVIndexEntry *e = avformat_index_get_entry(st, idx);
    return (e && e->pos == pos) ? e->size : -1;
}

/// The display matrix of a stream (its side data), or NULL.
static inline const int32_t *zs_display_matrix(AVStream *st) {
    size_t size = 0;
    const uint8_t *data = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
    return (data && size >= 9 * sizeof(int32_t)) ? (const int32_t *)data : NULL;
}

// MARK: - A video in memory

typedef struct zs_memory_source {
    const uint8_t *data;
    int64_t size;
    int64_t position;
} zs_memory_source;

static inline int zs_memory_read(void *opaque, uint8_t *buffer, int size) {
    zs_memory_source *s = (zs_memory_source *)opaque;
    if (s->position >= s->size) return AVERROR_EOF;
    int64_t n = s->size - s->position;
    if (n > size) n = size;
    memcpy(buffer, s->data + s->position, (size_t)n);
    s->position += n;
    return (int)n;
}

static inline int64_t zs_memory_seek(void *opaque, int64_t offset, int whence) {
    zs_memory_source *s = (zs_memory_source *)opaque;
    int64_t target;
    switch (whence & ~AVSEEK_FORCE) {
    case AVSEEK_SIZE: return s->size;
    case SEEK_SET: target = offset; break;
    case SEEK_CUR: if (__builtin_add_overflow(s->position, offset, &target)) return AVERROR(EINVAL); break;
    case SEEK_END: if (__builtin_add_overflow(s->size, offset, &target)) return AVERROR(EINVAL); break;
    default: return AVERROR(EINVAL);
    }
    if (target < 0 || target > s->size) return AVERROR(EINVAL);
    s->position = target;
    return target;
}

/// An AVIOContext reading `source` (read and seek, AVSEEK_SIZE included); free with `zs_memory_io_free`.
static inline AVIOContext *zs_memory_io(zs_memory_source *source) {
    const int size = 1 << 16;
    unsigned char *buffer = (unsigned char *)av_malloc(size);
    if (!buffer) return NULL;
    AVIOContext *io = avio_alloc_context(buffer, size, 0, source, zs_memory_read, NULL, zs_memory_seek);
    if (!io) av_free(buffer);
    return io;
}

static inline void zs_memory_io_free(AVIOContext **io) {
    if (*io) av_freep(&(*io)->buffer);
    avio_context_free(io);
}

// MARK: - Plane operations (lossless data movement, as libavfilter's transpose, hflip and vflip)

/// Rotates a plane of `width` x `height` elements of `step` bytes by 90 degrees: clockwise (transpose=clock:
/// out[r][c] = in[h-1-c][r]) or counter-clockwise (transpose=cclock: out[r][c] = in[c][w-1-r]).
static inline void zs_rotate_plane_90(const uint8_t *src, int src_linesize, uint8_t *dst, int dst_linesize,
                                      int width, int height, int step, int clockwise) {
    // Output is height wide and width high.
    for (int r = 0; r < width; r++) {
        uint8_t *out = dst + (ptrdiff_t)r * dst_linesize;
        for (int c = 0; c < height; c++) {
            const uint8_t *in = clockwise
                ? src + (ptrdiff_t)(height - 1 - c) * src_linesize + (ptrdiff_t)r * step
                : src + (ptrdiff_t)c * src_linesize + (ptrdiff_t)(width - 1 - r) * step;
            memcpy(out + (ptrdiff_t)c * step, in, (size_t)step);
        }
    }
}

/// Rotates a plane by 180 degrees (hflip then vflip): out[r][c] = in[h-1-r][w-1-c].
static inline void zs_rotate_plane_180(const uint8_t *src, int src_linesize, uint8_t *dst, int dst_linesize,
                                       int width, int height, int step) {
    for (int r = 0; r < height; r++) {
        const uint8_t *in = src + (ptrdiff_t)(height - 1 - r) * src_linesize;
        uint8_t *out = dst + (ptrdiff_t)r * dst_linesize;
        for (int c = 0; c < width; c++)
            memcpy(out + (ptrdiff_t)c * step, in + (ptrdiff_t)(width - 1 - c) * step, (size_t)step);
    }
}

// MARK: - Scene score (libavfilter's scene_sad: the sum of absolute differences of two planes)

static inline uint64_t zs_sad8(const uint8_t *a, int a_linesize, const uint8_t *b, int b_linesize,
                               int width, int height) {
    uint64_t sad = 0;
    for (int y = 0; y < height; y++) {
        const uint8_t *p = a + (ptrdiff_t)y * a_linesize, *q = b + (ptrdiff_t)y * b_linesize;
        uint32_t row = 0;
        for (int x = 0; x < width; x++) row += (uint32_t)abs((int)p[x] - (int)q[x]);
        sad += row;
    }
    return sad;
}

static inline uint64_t zs_sad16(const uint8_t *a, int a_linesize, const uint8_t *b, int b_linesize,
                                int width, int height) {
    uint64_t sad = 0;
    for (int y = 0; y < height; y++) {
        const uint16_t *p = (const uint16_t *)(a + (ptrdiff_t)y * a_linesize);
        const uint16_t *q = (const uint16_t *)(b + (ptrdiff_t)y * b_linesize);
        for (int x = 0; x < width; x++) sad += (uint64_t)abs((int)p[x] - (int)q[x]);
    }
    return sad;
}

#endif
