// zlib (Debian package zlib1g-dev, which libpng-dev depends on): crc32, the checksum of the text-embedding cache.
#include <zlib.h>
