// Umbrella header of the CKernels module.
#include "scan_kernels.h"
#include "encoder_kernels.h"
#include "graph_kernels.h"
#include "quantized_kernels.h"
#include "few_rows_kernels.h"
#include "training_kernels.h"
#include "code_scan_kernels.h"
