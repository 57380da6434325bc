// runtime.cpp - devices, threads, seeds, build information.
#include "shim_internal.h"
#include <ATen/Parallel.h>
#include <dlfcn.h>
#if TORCH_VERSION_MAJOR >= 2
#include <ATen/detail/MPSHooksInterface.h>
#endif
#ifdef LTS_HAVE_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <cuda_runtime_api.h>
#endif

// OpenBLAS runs its own thread pool beside libtorch's OpenMP one; on small
// machines the two oversubscribe the cores. Found at run time so that any
// BLAS (or none) works.
typedef void (*blas_set_fn)(int);
typedef int (*blas_get_fn)(void);
static blas_set_fn blas_set() {
  static blas_set_fn f = (blas_set_fn)dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
  return f;
}
static blas_get_fn blas_get() {
  static blas_get_fn f = (blas_get_fn)dlsym(RTLD_DEFAULT, "openblas_get_num_threads");
  return f;
}

extern "C" {

int lts_check_device(const char *device) {
  LTS_TRY({
    c10::Device d{std::string(device)};
    if (!d.is_cpu() && !d.is_cuda() && !d.is_mps())
      throw std::invalid_argument("unsupported device " + std::string(device));
  })
}

int lts_cuda_is_available(void) { return at::hasCUDA() ? 1 : 0; }

int lts_cuda_device_count(void) {
  try {
    return at::hasCUDA() ? (int)at::detail::getCUDAHooks().getNumGPUs() : 0;
  } catch (...) {
    return 0;
  }
}

int lts_mps_is_available(void) { return at::hasMPS() ? 1 : 0; }

int lts_set_device(const char *device) {
  LTS_TRY({
    c10::Device d{std::string(device)};
    if (d.is_cuda()) {
      if (!at::hasCUDA()) throw std::runtime_error("CUDA is not available in this libtorch or machine");
#ifdef LTS_HAVE_CUDA
      c10::cuda::set_device(d.has_index() ? d.index() : 0);
#endif
    } else if (d.is_mps()) {
      if (!at::hasMPS()) throw std::runtime_error("MPS is not available on this machine");
    }
  })
}

int64_t lts_cuda_memory_allocated(void) {
#ifdef LTS_HAVE_CUDA
  try {
    if (!at::hasCUDA()) return 0;
    auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(c10::cuda::current_device());
    // index 0 is StatType::AGGREGATE; the enum moved namespaces between 1.13 and 2.x
    return stats.allocated_bytes[0].current;
  } catch (...) {
    return 0;
  }
#else
  return 0;
#endif
}

int64_t lts_cuda_memory_total(void) {
#ifdef LTS_HAVE_CUDA
  size_t free_b = 0, total_b = 0;
  if (at::hasCUDA() && cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) return (int64_t)total_b;
#endif
  return 0;
}

int lts_cuda_empty_cache(void) {
#ifdef LTS_HAVE_CUDA
  LTS_TRY(if (at::hasCUDA()) c10::cuda::CUDACachingAllocator::emptyCache())
#else
  return 0;
#endif
}

int lts_cuda_synchronize(void) {
  LTS_TRY(if (at::hasCUDA()) at::detail::getCUDAHooks().deviceSynchronize(
              at::detail::getCUDAHooks().current_device()))
}

int lts_mps_synchronize(void) {
#if TORCH_VERSION_MAJOR >= 2
  LTS_TRY(if (at::hasMPS()) at::detail::getMPSHooks().deviceSynchronize())
#else
  return 0;  // libtorch 1.13 has no MPS synchronisation hook (and no MPS on Linux)
#endif
}

int lts_set_num_threads(int n) {
  LTS_TRY({
    if (n < 1) throw std::invalid_argument("the thread count must be at least 1");
    at::set_num_threads(n);
    // libtorch parallelises around BLAS calls itself: BLAS stays single-threaded
    if (blas_set()) blas_set()(1);
  })
}

int lts_get_num_threads(void) { return at::get_num_threads(); }

int lts_manual_seed(uint64_t seed) { LTS_TRY(at::manual_seed(seed)) }

void lts_info(lts_runtime_info *info) {
  memset(info, 0, sizeof *info);
  snprintf(info->version, sizeof info->version, "%d.%d.%d", TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR,
           TORCH_VERSION_PATCH);
  info->cuda = at::hasCUDA();
  info->rocm = at::hasHIP();
#if defined(USE_ROCM)
  info->rocm = 1;
#endif
  info->mps = at::hasMPS();
  try {
    info->cudnn = at::globalContext().hasCuDNN();
  } catch (...) {
  }
  info->mkl = at::hasMKL();
  info->openmp = at::hasOpenMP();
  info->cuda_devices = lts_cuda_device_count();
  info->threads = at::get_num_threads();
  info->interop_threads = at::get_num_interop_threads();
  info->blas_threads = blas_get() ? blas_get()() : -1;
}

}  // extern "C"

// Defaults at load: keep BLAS from fighting OpenMP for the cores.
__attribute__((constructor)) static void lts_runtime_defaults() {
  if (!getenv("OPENBLAS_NUM_THREADS") && blas_set()) blas_set()(1);
}
