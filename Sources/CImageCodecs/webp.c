// WebP decoding with libwebp's animation decoder, as Pillow decodes WebP: the first frame rendered on
// the canvas in non-premultiplied RGBA, then alpha dropped. EXIF and XMP chunks come from WebPDemux.
#include "common.h"
#include <stdlib.h>
#include <string.h>
#include <webp/decode.h>
#include <webp/demux.h>

static int zs_webp_chunk(WebPDemuxer *demux, const char *fourcc, uint8_t **dst, size_t *dst_size) {
    WebPChunkIterator it;
    int ok = 1;
    if (WebPDemuxGetChunk(demux, fourcc, 1, &it)) {
        ok = zs_set_bytes(dst, dst_size, it.chunk.bytes, it.chunk.size);
        WebPDemuxReleaseChunkIterator(&it);
    }
    return ok;
}

int zs_decode_webp(const uint8_t *data, size_t size, uint64_t max_pixels, zs_image *img) {
    zs_reset(img);
    if (data == NULL || size < 12) return zs_fail(img, ZS_TRUNCATED, "truncated WebP data");
    WebPData wd = {data, size};

    WebPDemuxState state;
    WebPDemuxer *demux = WebPDemuxPartial(&wd, &state);
    if (demux == NULL || state != WEBP_DEMUX_DONE) {
        int headers_ok = demux != NULL && state >= WEBP_DEMUX_PARSED_HEADER;
        uint64_t cw = headers_ok ? WebPDemuxGetI(demux, WEBP_FF_CANVAS_WIDTH) : 0;
        uint64_t ch = headers_ok ? WebPDemuxGetI(demux, WEBP_FF_CANVAS_HEIGHT) : 0;
        WebPDemuxDelete(demux);
        if (headers_ok && cw * ch > max_pixels) return zs_check_size(img, cw, ch, max_pixels);
        if (state == WEBP_DEMUX_PARSING_HEADER || state == WEBP_DEMUX_PARSED_HEADER)
            return zs_fail(img, ZS_TRUNCATED, "truncated WebP data");
        return zs_fail(img, ZS_CORRUPT, "corrupt WebP data (container could not be parsed)");
    }
    uint64_t cw = WebPDemuxGetI(demux, WEBP_FF_CANVAS_WIDTH);
    uint64_t ch = WebPDemuxGetI(demux, WEBP_FF_CANVAS_HEIGHT);
    if (zs_check_size(img, cw, ch, max_pixels) != ZS_OK) {
        WebPDemuxDelete(demux);
        return img->status;
    }
    int ok = zs_webp_chunk(demux, "EXIF", &img->exif, &img->exif_size) &&
             zs_webp_chunk(demux, "XMP ", &img->xmp, &img->xmp_size);
    WebPDemuxDelete(demux);
    if (!ok) return zs_fail(img, ZS_NO_MEMORY, "out of memory");

    WebPAnimDecoderOptions opts;
    if (!WebPAnimDecoderOptionsInit(&opts)) return zs_fail(img, ZS_CORRUPT, "libwebp version mismatch");
    opts.color_mode = MODE_RGBA;
    opts.use_threads = 0;
    WebPAnimDecoder *dec = WebPAnimDecoderNew(&wd, &opts);
    if (dec == NULL) return zs_fail(img, ZS_CORRUPT, "corrupt WebP data (decoder rejected it)");
    WebPAnimInfo info;
    uint8_t *rgba = NULL;
    int timestamp = 0;
    if (!WebPAnimDecoderGetInfo(dec, &info) || info.canvas_width != cw || info.canvas_height != ch) {
        WebPAnimDecoderDelete(dec);
        return zs_fail(img, ZS_CORRUPT, "corrupt WebP data (inconsistent canvas)");
    }
    if (!WebPAnimDecoderGetNext(dec, &rgba, &timestamp) || rgba == NULL) {
        WebPAnimDecoderDelete(dec);
        return zs_fail(img, ZS_CORRUPT, "corrupt or truncated WebP bitstream (first frame could not be decoded)");
    }
    uint8_t *out = zs_alloc_pixels(img, cw, ch);
    if (out == NULL) {
        WebPAnimDecoderDelete(dec);
        return zs_fail(img, ZS_NO_MEMORY, "out of memory");
    }
    size_t n = (size_t)(cw * ch);
    for (size_t i = 0; i < n; i++) {
        out[3 * i] = rgba[4 * i];
        out[3 * i + 1] = rgba[4 * i + 1];
        out[3 * i + 2] = rgba[4 * i + 2];
    }
    WebPAnimDecoderDelete(dec);  // owns rgba
    img->status = ZS_OK;
    return ZS_OK;
}
