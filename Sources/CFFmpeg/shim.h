// FFmpeg's libraries (Debian packages libavformat-dev, libavcodec-dev, libswscale-dev, libavutil-dev; FFmpeg 5.1):
// demuxing, decoding, pixel-format conversion. Only the Video target imports this module.
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>
#include <libavutil/avutil.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
