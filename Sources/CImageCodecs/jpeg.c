// JPEG decoding with libjpeg-turbo, converted to RGB as Pillow does for modes L, RGB and CMYK.
#include "common.h"
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    int truncated;  // libjpeg ran out of data (it then pads with a fake EOI and warns)
    char message[JMSG_LENGTH_MAX];
} zs_jpeg_error;

static void zs_jpeg_error_exit(j_common_ptr cinfo) {
    zs_jpeg_error *err = (zs_jpeg_error *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, err->message);
    longjmp(err->jump, 1);
}

static void zs_jpeg_emit_message(j_common_ptr cinfo, int level) {
    zs_jpeg_error *err = (zs_jpeg_error *)cinfo->err;
    // Warnings about corrupt data are ignored, as Pillow ignores them; running out of data is an error.
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) err->truncated = 1;
}

static void zs_jpeg_output_message(j_common_ptr cinfo) { (void)cinfo; }

static const char kExifPrefix[6] = {'E', 'x', 'i', 'f', 0, 0};
static const char kXmpPrefix[] = "http://ns.adobe.com/xap/1.0/";  // followed by a NUL

// Collects EXIF (Pillow concatenates later "Exif" segments after the first) and XMP (last wins).
static int zs_jpeg_collect_markers(j_decompress_ptr cinfo, zs_image *img) {
    for (jpeg_saved_marker_ptr m = cinfo->marker_list; m != NULL; m = m->next) {
        if (m->marker != JPEG_APP0 + 1) continue;
        const uint8_t *d = m->data;
        size_t n = m->data_length;
        if (n >= 6 && memcmp(d, kExifPrefix, 6) == 0) {
            int ok = img->exif == NULL ? zs_set_bytes(&img->exif, &img->exif_size, d, n)
                                       : zs_append_bytes(&img->exif, &img->exif_size, d + 6, n - 6);
            if (!ok) return 0;
        } else if (n >= sizeof(kXmpPrefix) && memcmp(d, kXmpPrefix, sizeof(kXmpPrefix)) == 0) {
            if (!zs_set_bytes(&img->xmp, &img->xmp_size, d + sizeof(kXmpPrefix), n - sizeof(kXmpPrefix)))
                return 0;
        }
    }
    return 1;
}

// Pillow's CMYK->RGB: r = clip(nk - nk*c/255 (rounded as MULDIV255)), with nk = 255 - k.
static inline uint8_t zs_cmyk_channel(int c, int nk) {
    int t = c * nk + 128;
    int v = nk - (((t >> 8) + t) >> 8);
    return (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v));
}

typedef struct {
    struct jpeg_decompress_struct cinfo;
    zs_jpeg_error err;
    JSAMPLE *row;
    int created;
} zs_jpeg_state;

static int zs_jpeg_run(zs_jpeg_state *s, const uint8_t *data, size_t size, uint64_t max_pixels, zs_image *img) {
    struct jpeg_decompress_struct *cinfo = &s->cinfo;
    if (setjmp(s->err.jump)) {
        if (s->err.truncated)
            return zs_fail(img, ZS_TRUNCATED, "truncated JPEG data (%s)", s->err.message);
        return zs_fail(img, ZS_CORRUPT, "corrupt JPEG data: %s", s->err.message);
    }
    jpeg_create_decompress(cinfo);
    s->created = 1;
    jpeg_mem_src(cinfo, (const unsigned char *)data, (unsigned long)size);
    jpeg_save_markers(cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(cinfo, TRUE);
    if (s->err.truncated) return zs_fail(img, ZS_TRUNCATED, "truncated JPEG data (ends inside the header)");
    if (!zs_jpeg_collect_markers(cinfo, img)) return zs_fail(img, ZS_NO_MEMORY, "out of memory");

    if (zs_check_size(img, cinfo->image_width, cinfo->image_height, max_pixels) != ZS_OK) return img->status;
    int comps = cinfo->num_components;
    if (comps == 1) {
        cinfo->out_color_space = JCS_GRAYSCALE;
    } else if (comps == 3) {
        cinfo->out_color_space = JCS_RGB;
    } else if (comps == 4) {
        cinfo->out_color_space = JCS_CMYK;
    } else {
        return zs_fail(img, ZS_UNSUPPORTED, "unsupported JPEG with %d components", comps);
    }
    cinfo->dct_method = JDCT_ISLOW;
    cinfo->do_fancy_upsampling = TRUE;

    jpeg_start_decompress(cinfo);
    uint64_t w = cinfo->output_width, h = cinfo->output_height;
    int oc = cinfo->output_components;
    if (oc != comps) return zs_fail(img, ZS_CORRUPT, "unexpected JPEG output components %d", oc);
    uint8_t *out = zs_alloc_pixels(img, w, h);
    s->row = (JSAMPLE *)malloc((size_t)w * (size_t)oc);
    if (out == NULL || s->row == NULL) return zs_fail(img, ZS_NO_MEMORY, "out of memory");

    while (cinfo->output_scanline < cinfo->output_height) {
        size_t y = cinfo->output_scanline;
        JSAMPROW rows[1] = {s->row};
        if (jpeg_read_scanlines(cinfo, rows, 1) != 1)
            return zs_fail(img, ZS_TRUNCATED, "truncated JPEG data (no data for row %zu)", y);
        uint8_t *dst = out + y * (size_t)w * 3;
        const JSAMPLE *src = s->row;
        if (oc == 3) {
            memcpy(dst, src, (size_t)w * 3);
        } else if (oc == 1) {
            for (size_t x = 0; x < w; x++) dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = src[x];
        } else {
            // Pillow reads 4-component JPEGs as Adobe (inverted) CMYK, then converts CMYK -> RGB.
            for (size_t x = 0; x < w; x++) {
                int c = 255 - src[4 * x], m = 255 - src[4 * x + 1], ye = 255 - src[4 * x + 2];
                int nk = src[4 * x + 3];  // 255 - (255 - k)
                dst[3 * x] = zs_cmyk_channel(c, nk);
                dst[3 * x + 1] = zs_cmyk_channel(m, nk);
                dst[3 * x + 2] = zs_cmyk_channel(ye, nk);
            }
        }
    }
    if (s->err.truncated) return zs_fail(img, ZS_TRUNCATED, "truncated JPEG data (image data ends early)");
    // What follows the last row (EOI, trailing markers) does not change the pixels.
    jpeg_abort_decompress(cinfo);
    img->status = ZS_OK;
    return ZS_OK;
}

int zs_decode_jpeg(const uint8_t *data, size_t size, uint64_t max_pixels, zs_image *img) {
    zs_reset(img);
    if (data == NULL || size == 0) return zs_fail(img, ZS_TRUNCATED, "empty JPEG data");
    zs_jpeg_state *s = (zs_jpeg_state *)calloc(1, sizeof(zs_jpeg_state));
    if (s == NULL) return zs_fail(img, ZS_NO_MEMORY, "out of memory");
    s->cinfo.err = jpeg_std_error(&s->err.pub);
    s->err.pub.error_exit = zs_jpeg_error_exit;
    s->err.pub.emit_message = zs_jpeg_emit_message;
    s->err.pub.output_message = zs_jpeg_output_message;
    int status = zs_jpeg_run(s, data, size, max_pixels, img);
    if (s->created) jpeg_destroy_decompress(&s->cinfo);
    free(s->row);
    free(s);
    return status;
}
