// libopenblas-dev (Debian) installs cblas.h; tools/setup.sh installs it.
#include <cblas.h>
