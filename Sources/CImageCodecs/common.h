#ifndef ZS_COMMON_H
#define ZS_COMMON_H
#include "CImageCodecs.h"

void zs_reset(zs_image *img);
/// Frees everything, records status and message; returns status.
int zs_fail(zs_image *img, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/// ZS_OK, or fails `img` with ZS_TOO_LARGE (Pillow counts max(1,w)*max(1,h)) or ZS_CORRUPT for a zero side.
int zs_check_size(zs_image *img, uint64_t width, uint64_t height, uint64_t max_pixels);
/// Allocates width*height*3 bytes into img->pixels and sets the size; NULL on failure.
uint8_t *zs_alloc_pixels(zs_image *img, uint64_t width, uint64_t height);
int zs_set_bytes(uint8_t **dst, size_t *dst_size, const uint8_t *src, size_t n);
/// Records the transparent colour key (each argument already reduced to 0...255).
void zs_set_transparent(zs_image *img, unsigned r, unsigned g, unsigned b);
int zs_append_bytes(uint8_t **dst, size_t *dst_size, const uint8_t *src, size_t n);
#endif
