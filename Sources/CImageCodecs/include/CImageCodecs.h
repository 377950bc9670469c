#ifndef CIMAGECODECS_H
#define CIMAGECODECS_H
// Thin C wrappers around libjpeg-turbo, libpng, libwebp and giflib.
// Their error paths use setjmp/longjmp, which Swift cannot call, so each decoder lives here.
#include <stddef.h>
#include <stdint.h>
#endif
