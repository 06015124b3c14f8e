// The one place that knows which BLAS is linked: OpenBLAS on Linux, Accelerate on macOS.
#pragma once
#include <string>

#ifdef MLA_USE_ACCELERATE
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
#endif

namespace mla {
/** Human-readable name of the BLAS and, for OpenBLAS, its build config and the core it picked. */
std::string blasName();
/** Threads BLAS uses for one call (Accelerate manages its own and reports 0). */
int blasThreads();
void setBlasThreads(int n);
}  // namespace mla
