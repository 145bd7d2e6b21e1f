// zlib1g-dev (Debian): gzread reads gzip and plain files alike.
#include <zlib.h>
