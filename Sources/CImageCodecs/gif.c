// GIF first frame with giflib, composed as Pillow composes frame 0: the canvas (logical screen, grown to
// hold the frame) is filled with the frame's transparency index, or 0, the frame's indices are written at
// its offset, and every index is looked up in the frame's palette (local, else global; index past the
// palette -> black; no palette -> gray level = index). convert("RGB") keeps a transparency index as the
// colour it stands for, reported as the image's transparent colour key.
#include "common.h"
#include <stdlib.h>
#include <string.h>
#include <gif_lib.h>

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t pos;
    int truncated;
} zs_gif_reader;

static int zs_gif_read(GifFileType *gif, GifByteType *out, int n) {
    zs_gif_reader *r = (zs_gif_reader *)gif->UserData;
    if (n <= 0) return 0;
    size_t want = (size_t)n;
    size_t avail = r->size - r->pos;
    if (want > avail) {
        r->truncated = 1;
        want = avail;
    }
    memcpy(out, r->data + r->pos, want);
    r->pos += want;
    return (int)want;
}

static int zs_gif_error(zs_image *img, zs_gif_reader *r, int code, const char *what) {
    const char *msg = GifErrorString(code);
    if (r->truncated || code == D_GIF_ERR_READ_FAILED)
        return zs_fail(img, ZS_TRUNCATED, "truncated GIF data (%s)", what);
    return zs_fail(img, ZS_CORRUPT, "corrupt GIF data (%s: %s)", what, msg ? msg : "unknown error");
}

// Pillow treats a palette that is exactly the gray ramp 0,1,2,... as "no palette" (mode L); the
// result is the same gray ramp, so only the lookup for indices past the palette differs.
static int zs_gif_is_ramp(const ColorMapObject *map) {
    for (int i = 0; i < map->ColorCount; i++) {
        const GifColorType *c = &map->Colors[i];
        if (c->Red != i || c->Green != i || c->Blue != i) return 0;
    }
    return 1;
}

static int zs_gif_usable(const ColorMapObject *map) {
    return map != NULL && map->ColorCount > 0 && map->Colors != NULL && !zs_gif_is_ramp(map);
}

static int zs_gif_run(GifFileType *gif, zs_gif_reader *r, uint64_t max_pixels, zs_image *img, uint8_t **canvas_out,
                      uint8_t **line_out) {
    int transparency = -1;
    GifRecordType rtype = UNDEFINED_RECORD_TYPE;
    for (;;) {
        if (DGifGetRecordType(gif, &rtype) == GIF_ERROR)
            return zs_gif_error(img, r, gif->Error, "reading a record");
        if (rtype == TERMINATE_RECORD_TYPE) return zs_fail(img, ZS_CORRUPT, "GIF contains no image");
        if (rtype == EXTENSION_RECORD_TYPE) {
            int code = 0;
            GifByteType *ext = NULL;
            if (DGifGetExtension(gif, &code, &ext) == GIF_ERROR)
                return zs_gif_error(img, r, gif->Error, "reading an extension");
            if (code == GRAPHICS_EXT_FUNC_CODE && ext != NULL && ext[0] >= 4 && (ext[1] & 1)) transparency = ext[4];
            while (ext != NULL) {
                if (DGifGetExtensionNext(gif, &ext) == GIF_ERROR)
                    return zs_gif_error(img, r, gif->Error, "reading an extension");
            }
            continue;
        }
        if (rtype != IMAGE_DESC_RECORD_TYPE) return zs_fail(img, ZS_CORRUPT, "corrupt GIF data (unknown record)");
        break;
    }
    if (DGifGetImageDesc(gif) == GIF_ERROR) return zs_gif_error(img, r, gif->Error, "reading the image descriptor");

    uint64_t x0 = (uint64_t)gif->Image.Left, y0 = (uint64_t)gif->Image.Top;
    uint64_t fw = (uint64_t)gif->Image.Width, fh = (uint64_t)gif->Image.Height;
    uint64_t cw = (uint64_t)gif->SWidth, ch = (uint64_t)gif->SHeight;
    if (x0 + fw > cw) cw = x0 + fw;
    if (y0 + fh > ch) ch = y0 + fh;
    if (zs_check_size(img, cw, ch, max_pixels) != ZS_OK) return img->status;

    // Pillow's frame palette is the local table unless that is absent or a gray ramp (then the global table,
    // unless that is absent or a ramp too: mode L, gray level = index).
    const ColorMapObject *map = zs_gif_usable(gif->Image.ColorMap) ? gif->Image.ColorMap
                              : zs_gif_usable(gif->SColorMap)      ? gif->SColorMap
                                                                   : NULL;

    uint8_t *canvas = (uint8_t *)malloc((size_t)(cw * ch));
    uint8_t *line = (uint8_t *)malloc(fw > 0 ? (size_t)fw : 1);
    *canvas_out = canvas;
    *line_out = line;
    uint8_t *out = zs_alloc_pixels(img, cw, ch);
    if (canvas == NULL || line == NULL || out == NULL) return zs_fail(img, ZS_NO_MEMORY, "out of memory");
    memset(canvas, transparency >= 0 ? transparency : 0, (size_t)(cw * ch));

    // Interlaced frames arrive in four passes: rows 0,8,.. then 4,12,.. then 2,6,.. then 1,3,..
    static const int starts[4] = {0, 4, 2, 1}, steps[4] = {8, 8, 4, 2};
    int passes = gif->Image.Interlace ? 4 : 1;
    for (int pass = 0; pass < passes; pass++) {
        uint64_t start = gif->Image.Interlace ? (uint64_t)starts[pass] : 0;
        uint64_t step = gif->Image.Interlace ? (uint64_t)steps[pass] : 1;
        for (uint64_t y = start; y < fh; y += step) {
            if (DGifGetLine(gif, line, (int)fw) == GIF_ERROR) {
                if (gif->Error == D_GIF_ERR_EOF_TOO_SOON && !r->truncated) goto compose;  // short LZW stream
                return zs_gif_error(img, r, gif->Error, "reading image data");
            }
            memcpy(canvas + (y0 + y) * cw + x0, line, (size_t)fw);
        }
    }
compose:
    for (size_t i = 0; i < (size_t)(cw * ch); i++) {
        int idx = canvas[i];
        if (map == NULL) {
            out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = (uint8_t)idx;
        } else if (idx < map->ColorCount) {
            out[3 * i] = map->Colors[idx].Red;
            out[3 * i + 1] = map->Colors[idx].Green;
            out[3 * i + 2] = map->Colors[idx].Blue;
        } else {
            out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = 0;
        }
    }
    // Frame 0's transparency index stays in info["transparency"]; convert("RGB") turns it into the colour of
    // that palette entry (black past the palette) or, in mode L, the gray level equal to the index.
    if (transparency >= 0) {
        if (map == NULL) {
            zs_set_transparent(img, (unsigned)transparency, (unsigned)transparency, (unsigned)transparency);
        } else if (transparency < map->ColorCount) {
            const GifColorType *c = &map->Colors[transparency];
            zs_set_transparent(img, c->Red, c->Green, c->Blue);
        } else {
            zs_set_transparent(img, 0, 0, 0);
        }
    }
    img->status = ZS_OK;
    return ZS_OK;
}

int zs_decode_gif(const uint8_t *data, size_t size, uint64_t max_pixels, zs_image *img) {
    zs_reset(img);
    if (data == NULL || size < 6) return zs_fail(img, ZS_TRUNCATED, "truncated GIF data");
    zs_gif_reader r = {data, size, 0, 0};
    int err = 0;
    GifFileType *gif = DGifOpen(&r, zs_gif_read, &err);
    if (gif == NULL) return zs_gif_error(img, &r, err, "reading the header");
    uint8_t *canvas = NULL, *line = NULL;
    int status = zs_gif_run(gif, &r, max_pixels, img, &canvas, &line);
    free(canvas);
    free(line);
    int close_err = 0;
    DGifCloseFile(gif, &close_err);
    return status;
}
