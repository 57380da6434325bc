/* runtime.c - section 4: devices, memory, threads, build information. */
#include <stdio.h>
#include "lt_internal.h"

static int p_cuda_available(const lt_value *a, lt_value *out) { *out = lt_bool(lts_cuda_is_available()); return LT_OK; }
static int p_cuda_count(const lt_value *a, lt_value *out) { *out = lt_int(lts_cuda_device_count()); return LT_OK; }
static int p_mps_available(const lt_value *a, lt_value *out) { *out = lt_bool(lts_mps_is_available()); return LT_OK; }

static int p_set_device(const lt_value *a, lt_value *out) {
  char dev[64];
  if (lts_set_device(lt_read_device(&a[0], dev, sizeof dev))) return lt_fail_shim();
  *out = lt_bool(1);
  return LT_OK;
}

static int p_best_device(const lt_value *a, lt_value *out) {
  *out = lt_string_cstr(lts_cuda_is_available() ? "cuda" : lts_mps_is_available() ? "mps" : "cpu");
  return LT_OK;
}

static int move(const lt_value *t, const char *device, lt_value *out) {
  lts_tensor *r = NULL;
  return lt_out_tensor(lts_to(lt_tensor_of(t), -1, device, &r), &r, out);
}

static int p_to_device(const lt_value *a, lt_value *out) {
  char dev[64];
  const char *d = lt_read_device(&a[1], dev, sizeof dev);
  if (lt_is_module(&a[0])) {
    /* modules move in place, as nn.Module.to; the module is returned */
    lts_module *m = NULL;
    if (lts_module_to(lt_module_of(&a[0]), -1, d)) return lt_fail_shim();
    lts_module_ref(lt_module_of(&a[0]), &m);
    *out = lt_handle_value(LT_H_MODULE, m);
    return LT_OK;
  }
  if (!lt_is_tensor(&a[0])) return lt_fail("argument 1 (object) must be a tensor or a module, got %s", lt_kind_name(&a[0]));
  return move(&a[0], d, out);
}

static int p_to_cuda(const lt_value *a, lt_value *out) {
  char dev[32];
  int64_t idx = lt_present(&a[1]) ? lt_as_int(&a[1]) : 0;
  if (idx < 0) return lt_fail("argument 2 (index) must be a non-negative device index, got %lld", (long long)idx);
  if (!lts_cuda_is_available()) return lt_fail("CUDA is not available (libtorch without CUDA, or no GPU)");
  snprintf(dev, sizeof dev, "cuda:%lld", (long long)idx);
  return move(&a[0], dev, out);
}

static int p_to_mps(const lt_value *a, lt_value *out) {
  if (!lts_mps_is_available()) return lt_fail("MPS is not available on this machine");
  return move(&a[0], "mps", out);
}

static int p_to_cpu(const lt_value *a, lt_value *out) { return move(&a[0], "cpu", out); }

static int p_on_mps(const lt_value *a, lt_value *out) {
  char dev[64];
  lts_device(lt_tensor_of(&a[0]), dev, sizeof dev);
  *out = lt_bool(dev[0] == 'm' && dev[1] == 'p' && dev[2] == 's');
  return LT_OK;
}

static int p_cuda_allocated(const lt_value *a, lt_value *out) { *out = lt_int(lts_cuda_memory_allocated()); return LT_OK; }
static int p_cuda_total(const lt_value *a, lt_value *out) { *out = lt_int(lts_cuda_memory_total()); return LT_OK; }

static int status_true(int rc, lt_value *out) {
  if (rc) return lt_fail_shim();
  *out = lt_bool(1);
  return LT_OK;
}
static int p_cuda_empty(const lt_value *a, lt_value *out) { return status_true(lts_cuda_empty_cache(), out); }
static int p_cuda_sync(const lt_value *a, lt_value *out) { return status_true(lts_cuda_synchronize(), out); }
static int p_mps_sync(const lt_value *a, lt_value *out) { return status_true(lts_mps_synchronize(), out); }

static int p_set_threads(const lt_value *a, lt_value *out) {
  int64_t n = lt_as_int(&a[0]);
  if (n < 1 || n > 4096) return lt_fail("argument 1 (n) must be between 1 and 4096, got %lld", (long long)n);
  return status_true(lts_set_num_threads((int)n), out);
}

static int p_get_threads(const lt_value *a, lt_value *out) { *out = lt_int(lts_get_num_threads()); return LT_OK; }

static int p_info(const lt_value *a, lt_value *out) {
  lts_runtime_info in;
  lts_info(&in);
  *out = lt_dict_new(12);
  lt_dict_put(out, "libtorch_version", lt_string_cstr(in.version));
  lt_dict_put(out, "cuda", lt_bool(in.cuda));
  lt_dict_put(out, "cuda_device_count", lt_int(in.cuda_devices));
  lt_dict_put(out, "rocm", lt_bool(in.rocm));
  lt_dict_put(out, "mps", lt_bool(in.mps));
  lt_dict_put(out, "cudnn", lt_bool(in.cudnn));
  lt_dict_put(out, "mkl", lt_bool(in.mkl));
  lt_dict_put(out, "openmp", lt_bool(in.openmp));
  lt_dict_put(out, "num_threads", lt_int(in.threads));
  lt_dict_put(out, "num_interop_threads", lt_int(in.interop_threads));
  lt_dict_put(out, "blas_threads", lt_int(in.blas_threads));
  lt_dict_put(out, "best_device", lt_string_cstr(in.cuda ? "cuda" : in.mps ? "mps" : "cpu"));
  return LT_OK;
}

const lt_row lt_rows_runtime[] = {
    {"torch_cuda_is_available", NULL, "", "true when libtorch has CUDA (or ROCm) and a GPU is present", p_cuda_available},
    {"torch_cuda_available", "torch_cuda_is_available", NULL, NULL, NULL},
    {"torch_cuda_device_count", NULL, "", "number of CUDA/ROCm devices", p_cuda_count},
    {"torch_set_device", NULL, "device:device", "selects the current CUDA device (checks the device exists)", p_set_device},
    {"torch_mps_is_available", NULL, "", "true when Apple's MPS backend is usable", p_mps_available},
    {"torch_mps_available", "torch_mps_is_available", NULL, NULL, NULL},
    {"torch_get_best_device", NULL, "", "\"cuda\" > \"mps\" > \"cpu\"", p_best_device},
    {"torch_to_device", NULL, "object:handle device:device",
     "a tensor copied to device (itself when already there), or a module moved there in place", p_to_device},
    {"torch_to_cuda", NULL, "tensor:tensor ?index:int", "copy on cuda:index (default 0)", p_to_cuda},
    {"torch_to_mps", NULL, "tensor:tensor", "copy on the MPS device", p_to_mps},
    {"torch_to_cpu", NULL, "tensor:tensor", "copy on the CPU", p_to_cpu},
    {"torch_on_mps", NULL, "tensor:tensor", "true when the tensor lives on MPS", p_on_mps},
    {"torch_cuda_memory_allocated", NULL, "", "bytes allocated by tensors on the current CUDA device (0 without CUDA)", p_cuda_allocated},
    {"torch_cuda_memory_total", NULL, "", "total bytes of the current CUDA device (0 without CUDA)", p_cuda_total},
    {"torch_cuda_empty_cache", NULL, "", "releases cached CUDA memory (no-op without CUDA)", p_cuda_empty},
    {"torch_cuda_synchronize", NULL, "", "waits for CUDA work to finish (no-op without CUDA)", p_cuda_sync},
    {"torch_mps_synchronize", NULL, "?safemode:bool", "waits for MPS work to finish (no-op without MPS)", p_mps_sync},
    {"torch_set_num_threads", NULL, "n:int", "intra-op threads; BLAS is kept single-threaded so the two pools never oversubscribe", p_set_threads},
    {"torch_get_num_threads", NULL, "", "intra-op thread count", p_get_threads},
    {"torch_info", NULL, "", "dictionary: libtorch version, cuda/rocm/mps/cudnn, threads", p_info},
    {NULL, NULL, NULL, NULL, NULL},
};
