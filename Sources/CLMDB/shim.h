// liblmdb-dev (Debian) installs lmdb.h; tools/setup.sh installs it.
#include <lmdb.h>
