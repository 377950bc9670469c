// oneDNN (Debian package libdnnl-dev): the GEMM routines used by the Compute target.
#include <dnnl.h>
