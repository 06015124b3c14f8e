// A small persistent thread pool for the element-wise, softmax and reduction kernels.
// BLAS has its own threads; this pool only runs between BLAS calls, so the two never compete.
#pragma once
#include <cstdint>
#include <functional>

namespace mla {
/** Number of threads a parallelFor splits work over, the calling thread included (>= 1). */
int poolThreads();
void setPoolThreads(int n);
/**
 * Calls fn(begin, end) on disjoint ranges covering [0, n). Work smaller than `grain` items per thread
 * stays on the calling thread: waking a worker costs microseconds, more than a small loop.
 */
void parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);
}  // namespace mla
