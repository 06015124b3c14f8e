// Row gathers and their gradient. tfjs's CPU UnsortedSegmentSum loops over every segment and builds a
// mask the size of x for each one, O(segments · x.size); for an embedding's gradient (10k segments) that
// takes minutes. Here it is one pass over x.
#include <napi.h>

#include <algorithm>
#include <cstring>

#include "args.h"
#include "kernels.h"

namespace mla {
namespace {

// unsortedSegmentSum(x, ids, out, n, inner, numSegments): out (numSegments, inner) = Σ over i with
// ids[i] = s of x[i] (x is (n, inner)). Ids outside [0, numSegments) are skipped, as tfjs's kernel does.
Napi::Value UnsortedSegmentSum(const Napi::CallbackInfo& info) {
  const char* fn = "unsortedSegmentSum";
  F32 x = f32Arg(info, 0, fn, "x");
  I32 ids = i32Arg(info, 1, fn, "ids");
  F32 out = f32Arg(info, 2, fn, "out");
  int64_t n = intArg(info, 3, fn, "n"), inner = intArg(info, 4, fn, "inner"), segs = intArg(info, 5, fn, "numSegments");
  requireLength(info.Env(), x, n * inner, fn, "x");
  requireLength(info.Env(), ids, n, fn, "ids");
  requireLength(info.Env(), out, segs * inner, fn, "out");
  std::fill(out.data, out.data + segs * inner, 0.0f);
  for (int64_t i = 0; i < n; i++) {
    const int64_t s = ids.data[i];
    if (s < 0 || s >= segs) continue;
    float* dst = out.data + s * inner;
    const float* src = x.data + i * inner;
    for (int64_t j = 0; j < inner; j++) dst[j] += src[j];
  }
  return info.Env().Undefined();
}

// gatherRows(x, ids, out, outer, rows, inner, n): for each of `outer` blocks of x (rows, inner),
// out[o, i] = x[o, ids[i]] — tfjs's GatherV2 with batchDims 0 on axis = rank of `outer`. Returns false
// (leaving out partly written) if an id is out of range, so the caller can defer to the JS kernel's error.
Napi::Value GatherRows(const Napi::CallbackInfo& info) {
  const char* fn = "gatherRows";
  F32 x = f32Arg(info, 0, fn, "x");
  I32 ids = i32Arg(info, 1, fn, "ids");
  F32 out = f32Arg(info, 2, fn, "out");
  int64_t outer = intArg(info, 3, fn, "outer"), rows = intArg(info, 4, fn, "rows"), inner = intArg(info, 5, fn, "inner"),
          n = intArg(info, 6, fn, "n");
  requireLength(info.Env(), x, outer * rows * inner, fn, "x");
  requireLength(info.Env(), ids, n, fn, "ids");
  requireLength(info.Env(), out, outer * n * inner, fn, "out");
  for (int64_t o = 0; o < outer; o++) {
    for (int64_t i = 0; i < n; i++) {
      const int64_t r = ids.data[i];
      if (r < 0 || r >= rows) return Napi::Boolean::New(info.Env(), false);
      std::memcpy(out.data + (o * n + i) * inner, x.data + (o * rows + r) * inner, sizeof(float) * inner);
    }
  }
  return Napi::Boolean::New(info.Env(), true);
}

}  // namespace

void InitGather(Napi::Env env, Napi::Object exports) {
  exports.Set("unsortedSegmentSum", Napi::Function::New(env, UnsortedSegmentSum, "unsortedSegmentSum"));
  exports.Set("gatherRows", Napi::Function::New(env, GatherRows, "gatherRows"));
}

}  // namespace mla
