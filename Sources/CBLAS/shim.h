// libopenblas-dev (Debian) installs cblas.h; tools/setup.sh installs it.
#include <cblas.h>

// LAPACK's symmetric eigensolver (divide and conquer), which libopenblas also exports.
// Debian ships no LAPACK header with it, so the Fortran entry point is declared here.
void ssyevd_(const char *jobz, const char *uplo, const int *n, float *a, const int *lda, float *w,
             float *work, const int *lwork, int *iwork, const int *liwork, int *info);
