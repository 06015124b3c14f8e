#include "blas.h"

namespace mla {

std::string blasName() {
#if defined(MLA_USE_ACCELERATE)
  return "Accelerate";
#elif defined(OPENBLAS_VERSION)
  std::string config = openblas_get_config();
  return config + " (core " + openblas_get_corename() + ")";
#else
  return "CBLAS (unknown vendor)";
#endif
}

int blasThreads() {
#if defined(OPENBLAS_VERSION) && !defined(MLA_USE_ACCELERATE)
  return openblas_get_num_threads();
#else
  return 0;
#endif
}

void setBlasThreads(int n) {
#if defined(OPENBLAS_VERSION) && !defined(MLA_USE_ACCELERATE)
  openblas_set_num_threads(n);
#else
  (void)n;
#endif
}

}  // namespace mla
