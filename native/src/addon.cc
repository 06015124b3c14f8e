// Entry point of the mla_native addon: BLAS/pool configuration plus every kernel module's functions.
#include <napi.h>

#include <algorithm>
#include <thread>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "args.h"
#include "blas.h"
#include "kernels.h"
#include "parallel.h"

namespace mla {
namespace {

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("blas", blasName());
  o.Set("blasThreads", blasThreads());
  o.Set("poolThreads", poolThreads());
  o.Set("hardwareThreads", static_cast<double>(std::thread::hardware_concurrency()));
  return o;
}

// keepFreedMemory(bytes): glibc only. Tensors come and go in the tens of megabytes; glibc serves each
// from a fresh mmap, so every step pays a page fault per 4 KiB of every large tensor (in VMs, far more
// than the arithmetic). Serving them from the heap instead and keeping up to `bytes` of freed memory
// lets the next step reuse it. Returns false where this allocator tuning does not apply.
Napi::Value KeepFreedMemory(const Napi::CallbackInfo& info) {
  int64_t bytes = intArg(info, 0, "keepFreedMemory", "bytes");
#ifdef __GLIBC__
  const int cap = static_cast<int>(std::min<int64_t>(bytes, 0x7fffffff));
  bool ok = mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, cap) == 1;
  return Napi::Boolean::New(info.Env(), ok);
#else
  (void)bytes;
  return Napi::Boolean::New(info.Env(), false);
#endif
}

// setThreads(blas, pool = blas): threads for BLAS and for the addon's own pool.
Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  int n = static_cast<int>(intArg(info, 0, "setThreads", "blas"));
  int p = info.Length() > 1 && !info[1].IsUndefined() ? static_cast<int>(intArg(info, 1, "setThreads", "pool")) : n;
  if (n < 1 || p < 1) throw Napi::RangeError::New(info.Env(), "setThreads: thread counts must be at least 1");
  setBlasThreads(n);
  setPoolThreads(p);
  return info.Env().Undefined();
}

}  // namespace
}  // namespace mla

// Outside any namespace: NODE_API_MODULE pastes the function's name into an identifier.
static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  using namespace mla;
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  exports.Set("keepFreedMemory", Napi::Function::New(env, KeepFreedMemory, "keepFreedMemory"));
  InitMatmul(env, exports);
  InitGather(env, exports);
  InitElementwise(env, exports);
  InitReduce(env, exports);
  InitLayout(env, exports);
  return exports;
}

NODE_API_MODULE(mla_native, InitAddon)
