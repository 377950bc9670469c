#ifndef CIMAGECODECS_H
#define CIMAGECODECS_H
// Thin C wrappers around libjpeg-turbo, libpng, libwebp and giflib.
// Their error paths use setjmp/longjmp, which Swift cannot call, so each decoder lives here.
// Every decoder returns 8-bit RGB (converted as Pillow's convert("RGB") does for that format)
// plus the raw metadata needed for EXIF orientation; the caller applies the orientation.
#include <stddef.h>
#include <stdint.h>

/// Outcome of a decode call (`zs_image.status`).
typedef enum {
    ZS_OK = 0,
    ZS_TRUNCATED = 1,    ///< the data ends before the image does
    ZS_CORRUPT = 2,      ///< the codec rejected the data
    ZS_TOO_LARGE = 3,    ///< width*height over the caller's limit (checked from the header, before allocating)
    ZS_NO_MEMORY = 4,
    ZS_UNSUPPORTED = 5,  ///< valid but unsupported variant (e.g. a 2-component JPEG)
} zs_status;

/// A decoded image. Every pointer is owned by the struct and released by `zs_image_free`.
typedef struct {
    int status;               ///< a `zs_status`
    char message[256];        ///< human-readable reason when status != ZS_OK
    int width;
    int height;
    uint8_t *pixels;          ///< width*height*3 bytes, RGB interleaved, row-major
    uint8_t *exif;            ///< EXIF payload as Pillow stores it in info["exif"] (may start with "Exif\0\0"), or NULL
    size_t exif_size;
    uint8_t *xmp;             ///< XMP packet (JPEG APP1, PNG iTXt "XML:com.adobe.xmp", WebP "XMP "), or NULL
    size_t xmp_size;
    uint8_t *raw_exif_text;   ///< PNG text chunk "Raw profile type exif" (hex dump), or NULL
    size_t raw_exif_text_size;
    /// 1 when the image has a single transparent colour key, as Pillow keeps it in info["transparency"]
    /// through convert("RGB"); transformers' convert_to_rgb then turns exactly the pixels equal to
    /// `transparent_rgb` white. 0 otherwise (no key, or per-entry palette alpha, which convert("RGB") drops).
    int has_transparent_color;
    /// The key as the RGB colour the pixels are compared with (meaningful when has_transparent_color).
    uint8_t transparent_rgb[3];
} zs_image;

/// Releases every buffer of `img` (safe on a zeroed struct, safe to call twice).
void zs_image_free(zs_image *img);

/// JPEG via libjpeg-turbo: ISLOW IDCT, fancy upsampling; gray replicated; CMYK/YCCK read as inverted
/// (Adobe) CMYK and converted as Pillow's CMYK->RGB. Returns `img->status`.
int zs_decode_jpeg(const uint8_t *data, size_t size, uint64_t max_pixels, zs_image *img);
/// PNG via libpng: palette expanded, gray expanded, alpha dropped, 16-bit -> high byte. A tRNS chunk that
/// Pillow keeps as one colour (palette: one 0x00 entry, all others 0xff; gray; RGB) sets the transparent colour.
/// A gray or RGB tRNS chunk too short for its colour type fails with ZS_CORRUPT, as Pillow refuses it.
int zs_decode_png(const uint8_t *data, size_t size, uint64_t max_pixels, zs_image *img);
/// WebP via libwebp's animation decoder (first frame on its canvas), alpha dropped; EXIF/XMP via WebPDemux.
int zs_decode_webp(const uint8_t *data, size_t size, uint64_t max_pixels, zs_image *img);
/// GIF first frame via giflib, composed as Pillow does for frame 0 (canvas filled with the transparency index or 0);
/// the transparency index of frame 0 sets the transparent colour (its palette colour, or gray level for mode L).
int zs_decode_gif(const uint8_t *data, size_t size, uint64_t max_pixels, zs_image *img);

#endif
