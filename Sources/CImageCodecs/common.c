#include "common.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void zs_image_free(zs_image *img) {
    if (img == NULL) return;
    free(img->pixels); img->pixels = NULL;
    free(img->exif); img->exif = NULL; img->exif_size = 0;
    free(img->xmp); img->xmp = NULL; img->xmp_size = 0;
    free(img->raw_exif_text); img->raw_exif_text = NULL; img->raw_exif_text_size = 0;
}

void zs_reset(zs_image *img) {
    memset(img, 0, sizeof(*img));
}

int zs_fail(zs_image *img, int status, const char *fmt, ...) {
    zs_image_free(img);
    img->has_transparent_color = 0;
    img->width = 0;
    img->height = 0;
    img->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(img->message, sizeof(img->message), fmt, ap);
    va_end(ap);
    return status;
}

int zs_check_size(zs_image *img, uint64_t width, uint64_t height, uint64_t max_pixels) {
    uint64_t w = width > 0 ? width : 1, h = height > 0 ? height : 1;
    if (w > UINT32_MAX || h > UINT32_MAX || w * h > max_pixels) {
        return zs_fail(img, ZS_TOO_LARGE,
                       "image size (%llu x %llu = %llu pixels) exceeds the limit of %llu pixels",
                       (unsigned long long)width, (unsigned long long)height,
                       (unsigned long long)(w * h), (unsigned long long)max_pixels);
    }
    if (width == 0 || height == 0) {
        return zs_fail(img, ZS_CORRUPT, "image has a zero dimension (%llu x %llu)",
                       (unsigned long long)width, (unsigned long long)height);
    }
    return ZS_OK;
}

uint8_t *zs_alloc_pixels(zs_image *img, uint64_t width, uint64_t height) {
    uint64_t n = width * height;
    if (n == 0 || n > (SIZE_MAX / 4)) return NULL;
    img->pixels = (uint8_t *)malloc((size_t)(n * 3));
    if (img->pixels != NULL) {
        img->width = (int)width;
        img->height = (int)height;
    }
    return img->pixels;
}

int zs_set_bytes(uint8_t **dst, size_t *dst_size, const uint8_t *src, size_t n) {
    free(*dst);
    *dst = NULL;
    *dst_size = 0;
    if (n == 0) return 1;
    *dst = (uint8_t *)malloc(n);
    if (*dst == NULL) return 0;
    memcpy(*dst, src, n);
    *dst_size = n;
    return 1;
}

int zs_append_bytes(uint8_t **dst, size_t *dst_size, const uint8_t *src, size_t n) {
    if (n == 0) return 1;
    uint8_t *grown = (uint8_t *)realloc(*dst, *dst_size + n);
    if (grown == NULL) return 0;
    memcpy(grown + *dst_size, src, n);
    *dst = grown;
    *dst_size += n;
    return 1;
}

void zs_set_transparent(zs_image *img, unsigned r, unsigned g, unsigned b) {
    img->has_transparent_color = 1;
    img->transparent_rgb[0] = (uint8_t)r;
    img->transparent_rgb[1] = (uint8_t)g;
    img->transparent_rgb[2] = (uint8_t)b;
}
