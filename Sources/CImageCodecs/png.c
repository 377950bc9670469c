// PNG decoding with libpng, converted to RGB as Pillow's convert("RGB") does (palette expanded without
// tRNS, gray replicated, alpha dropped). 16-bit samples keep their high byte, as Pillow's RGB;16B/LA;16B
// raw modes do (16-bit gray without alpha is a documented deviation: Pillow clips its I;16 values).
// The tRNS chunk is read from the chunk stream directly (libpng drops some that Pillow keeps, such as a
// palette tRNS longer than the palette) to report the transparent colour key Pillow keeps.
#include "common.h"
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <png.h>

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t pos;
    int truncated;
    int image_done;  // every row was read; later problems (trailing chunks) are tolerated, as Pillow does
    char message[200];
    png_structp png;
    png_infop info;
    uint8_t *raw;
    png_bytep *rows;
    size_t w, h, channels;  // kept here: locals are not reliable after longjmp
    int color, depth;       // IHDR colour type and bit depth
} zs_png_state;

static void zs_png_error(png_structp png, png_const_charp msg) {
    zs_png_state *s = (zs_png_state *)png_get_error_ptr(png);
    snprintf(s->message, sizeof(s->message), "%s", msg ? msg : "unknown error");
    png_longjmp(png, 1);
}

static void zs_png_warning(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

static void zs_png_read(png_structp png, png_bytep out, size_t n) {
    zs_png_state *s = (zs_png_state *)png_get_io_ptr(png);
    if (n > s->size - s->pos) {
        s->truncated = 1;
        png_error(png, "unexpected end of data");
    }
    memcpy(out, s->data + s->pos, n);
    s->pos += n;
}

static int zs_png_metadata(zs_png_state *s, zs_image *img) {
    png_bytep exif = NULL;
    png_uint_32 exif_len = 0;
    if (png_get_eXIf_1(s->png, s->info, &exif_len, &exif) != 0 && exif != NULL && exif_len > 0) {
        // Pillow stores eXIf as "Exif\0\0" + payload.
        static const uint8_t prefix[6] = {'E', 'x', 'i', 'f', 0, 0};
        if (!zs_set_bytes(&img->exif, &img->exif_size, prefix, 6)) return 0;
        if (!zs_append_bytes(&img->exif, &img->exif_size, exif, exif_len)) return 0;
    }
    png_textp text = NULL;
    int count = 0;
    if (png_get_text(s->png, s->info, &text, &count) > 0 && text != NULL) {
        for (int i = 0; i < count; i++) {
            const char *key = text[i].key;
            size_t len = text[i].compression > 0 ? text[i].itxt_length : text[i].text_length;
            if (key == NULL || text[i].text == NULL) continue;
            if (strcmp(key, "XML:com.adobe.xmp") == 0) {
                if (!zs_set_bytes(&img->xmp, &img->xmp_size, (const uint8_t *)text[i].text, len)) return 0;
            } else if (strcmp(key, "Raw profile type exif") == 0) {
                if (!zs_set_bytes(&img->raw_exif_text, &img->raw_exif_text_size, (const uint8_t *)text[i].text, len))
                    return 0;
            }
        }
    }
    return 1;
}

static unsigned zs_be16(const uint8_t *p) { return ((unsigned)p[0] << 8) | p[1]; }

// The transparent colour key that Pillow keeps in info["transparency"] after convert("RGB"), as the RGB
// colour transformers' convert_to_rgb compares pixels with. Pillow reads every tRNS chunk up to IEND
// (before and after IDAT, the last one wins) and keeps, per colour type:
// - palette: the index of the single 0x00 entry when every other entry is 0xff (any length); convert("RGB")
//   maps it through PLTE (an index past PLTE gives black). Other tRNS (per-entry alpha) are dropped.
// - gray 2/4/8-bit (mode L): the raw 16-bit value, unscaled; convert("RGB") clamps it to 0...255 and
//   replicates it.
// - gray 1-bit (mode "1"): 255 when the value is non-zero, else 0; convert("RGB") keeps that integer, and
//   the later RGBA conversion reads an integer key t as the colour (t & 0xff, 0, 0).
// - gray 16-bit (mode I;16): the raw value, kept as an integer: colour (t & 0xff, 0, 0).
// - RGB 8/16-bit: the three raw 16-bit values, kept: colour (r & 0xff, g & 0xff, b & 0xff).
// - gray+alpha, RGBA: ignored.
// A gray tRNS under 2 bytes or an RGB one under 6 is an error in Pillow ("Truncated tRNS chunk").
// Returns 0 after failing `img` on such a chunk, 1 otherwise.
static int zs_png_transparency(zs_png_state *s, zs_image *img) {
    const uint8_t *trns = NULL;
    size_t trns_len = 0;
    size_t pos = 8;
    while (pos <= s->size && s->size - pos >= 12) {
        const uint8_t *c = s->data + pos;
        size_t len = ((size_t)c[0] << 24) | ((size_t)c[1] << 16) | ((size_t)c[2] << 8) | c[3];
        if (len > s->size - pos - 12) break;  // incomplete chunk: Pillow stops reading there too
        if (memcmp(c + 4, "IEND", 4) == 0) break;
        if (memcmp(c + 4, "tRNS", 4) == 0) {
            trns = c + 8;
            trns_len = len;
        }
        pos += 12 + len;
    }
    if (trns == NULL) return 1;
    switch (s->color) {
    case PNG_COLOR_TYPE_PALETTE: {
        // Pillow's test is the regular expression ^\xff*\x00\xff*$, whose '$' also matches before a final
        // newline byte: a trailing 0x0a entry is allowed.
        size_t n = trns_len > 0 && trns[trns_len - 1] == 0x0a ? trns_len - 1 : trns_len;
        size_t zero = n;
        for (size_t i = 0; i < n; i++) {
            if (trns[i] == 0x00 && zero == n) {
                zero = i;
            } else if (trns[i] != 0xff) {
                return 1;  // per-entry alpha (or a second 0x00): dropped by convert("RGB")
            }
        }
        if (zero == n) return 1;  // no fully transparent entry
        png_colorp palette = NULL;
        int count = 0;
        if (png_get_PLTE(s->png, s->info, &palette, &count) != 0 && palette != NULL && zero < (size_t)count) {
            zs_set_transparent(img, palette[zero].red, palette[zero].green, palette[zero].blue);
        } else {
            zs_set_transparent(img, 0, 0, 0);
        }
        return 1;
    }
    case PNG_COLOR_TYPE_GRAY: {
        if (trns_len < 2) {
            zs_fail(img, ZS_CORRUPT, "corrupt PNG data: truncated tRNS chunk (%zu bytes, gray needs 2)", trns_len);
            return 0;
        }
        unsigned v = zs_be16(trns);
        if (s->depth == 1) {
            zs_set_transparent(img, v != 0 ? 255 : 0, 0, 0);
        } else if (s->depth == 16) {
            zs_set_transparent(img, v & 0xff, 0, 0);
        } else {
            unsigned g = v > 255 ? 255 : v;
            zs_set_transparent(img, g, g, g);
        }
        return 1;
    }
    case PNG_COLOR_TYPE_RGB:
        if (trns_len < 6) {
            zs_fail(img, ZS_CORRUPT, "corrupt PNG data: truncated tRNS chunk (%zu bytes, RGB needs 6)", trns_len);
            return 0;
        }
        zs_set_transparent(img, zs_be16(trns) & 0xff, zs_be16(trns + 2) & 0xff, zs_be16(trns + 4) & 0xff);
        return 1;
    default:
        return 1;
    }
}

static int zs_png_run(zs_png_state *s, uint64_t max_pixels, zs_image *img) {
    if (setjmp(png_jmpbuf(s->png))) {
        if (s->image_done) goto finish;
        if (s->truncated) return zs_fail(img, ZS_TRUNCATED, "truncated PNG data (%s)", s->message);
        return zs_fail(img, ZS_CORRUPT, "corrupt PNG data: %s", s->message);
    }
    png_set_user_limits(s->png, 0x7fffffff, 0x7fffffff);
    png_set_benign_errors(s->png, 1);
    png_read_info(s->png, s->info);

    png_uint_32 w = 0, h = 0;
    int depth = 0, color = 0, interlace = 0;
    png_get_IHDR(s->png, s->info, &w, &h, &depth, &color, &interlace, NULL, NULL);
    if (zs_check_size(img, w, h, max_pixels) != ZS_OK) return img->status;
    s->color = color;
    s->depth = depth;

    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(s->png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(s->png);
    if (depth == 16) png_set_strip_16(s->png);
    png_set_interlace_handling(s->png);
    png_read_update_info(s->png, s->info);

    size_t rowbytes = png_get_rowbytes(s->png, s->info);
    int channels = png_get_channels(s->png, s->info);
    if (png_get_bit_depth(s->png, s->info) != 8 || channels < 1 || channels > 4 || rowbytes < (size_t)w * channels)
        return zs_fail(img, ZS_UNSUPPORTED, "unsupported PNG layout (color type %d, bit depth %d)", color, depth);
    if ((uint64_t)rowbytes * h > SIZE_MAX / 2) return zs_fail(img, ZS_NO_MEMORY, "out of memory");
    s->raw = (uint8_t *)malloc(rowbytes * (size_t)h);
    s->rows = (png_bytep *)malloc(sizeof(png_bytep) * (size_t)h);
    uint8_t *out = zs_alloc_pixels(img, w, h);
    if (s->raw == NULL || s->rows == NULL || out == NULL) return zs_fail(img, ZS_NO_MEMORY, "out of memory");
    for (size_t y = 0; y < h; y++) s->rows[y] = s->raw + y * rowbytes;
    s->w = w; s->h = h; s->channels = (size_t)channels;
    png_read_image(s->png, s->rows);
    s->image_done = 1;
    png_read_end(s->png, s->info);

finish:
    for (size_t y = 0; y < s->h; y++) {
        const uint8_t *src = s->rows[y];
        uint8_t *dst = img->pixels + y * s->w * 3;
        for (size_t x = 0; x < s->w; x++) {
            const uint8_t *p = src + x * s->channels;
            if (s->channels >= 3) {
                dst[3 * x] = p[0]; dst[3 * x + 1] = p[1]; dst[3 * x + 2] = p[2];
            } else {
                dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = p[0];
            }
        }
    }
    if (!zs_png_metadata(s, img)) return zs_fail(img, ZS_NO_MEMORY, "out of memory");
    if (!zs_png_transparency(s, img)) return img->status;
    img->status = ZS_OK;
    return ZS_OK;
}

int zs_decode_png(const uint8_t *data, size_t size, uint64_t max_pixels, zs_image *img) {
    zs_reset(img);
    if (data == NULL || size < 8 || png_sig_cmp((png_const_bytep)data, 0, 8) != 0)
        return zs_fail(img, ZS_CORRUPT, "not a PNG signature");
    zs_png_state *s = (zs_png_state *)calloc(1, sizeof(zs_png_state));
    if (s == NULL) return zs_fail(img, ZS_NO_MEMORY, "out of memory");
    s->data = data;
    s->size = size;
    s->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, s, zs_png_error, zs_png_warning);
    if (s->png != NULL) s->info = png_create_info_struct(s->png);
    int status;
    if (s->png == NULL || s->info == NULL) {
        status = zs_fail(img, ZS_NO_MEMORY, "out of memory");
    } else {
        png_set_read_fn(s->png, s, zs_png_read);
        status = zs_png_run(s, max_pixels, img);
    }
    png_destroy_read_struct(s->png ? &s->png : NULL, s->info ? &s->info : NULL, NULL);
    free(s->raw);
    free(s->rows);
    free(s);
    return status;
}
