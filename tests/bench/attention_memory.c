/* attention_memory.c - peak extra memory of attention: plain softmax attention
 * (softmax(q·kᵀ·scale)·v with tensor ops: the [L, L] scores exist),
 * torch_scaled_dot_product_attention (libtorch's fused kernel on 2.x, the
 * plain math on 1.13) and torch_flash_attention (blocks of keys with an
 * online softmax; by default libtorch's own memory-efficient kernel where
 * >= 2.1 has one, "flash chunked" always the block loop), at several
 * sequence lengths; batch 1, 4 heads, head_dim
 * 64, float32, no mask.
 *
 * Each configuration runs in its own child process. Two measures:
 *  - heap: this executable interposes malloc/free/posix_memalign/... (libtorch's
 *    CPU allocator uses posix_memalign) and keeps the bytes in use and their
 *    peak; "peak" is the highest heap in use above the level after q, k, v
 *    were made, "held" is what the forward keeps until backward (its saved
 *    tensors and the output);
 *  - RSS: VmHWM (peak resident set, reset through /proc/self/clear_refs) minus
 *    VmRSS before the forward.
 *
 * Build: cc -O2 -Iinclude tests/bench/attention_memory.c -Lbuild -llispe_torch
 *        -Wl,-rpath,build -o attention_memory   (or the cmake target)
 * Run:   ./attention_memory [seq ...]   (default 512 2048 8192) */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "lt_shim.h"

/* ---- heap accounting by interposition ---- */
extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static _Atomic int64_t heap_cur, heap_peak;

static void heap_add(int64_t n) {
  int64_t c = atomic_fetch_add(&heap_cur, n) + n;
  int64_t p = atomic_load(&heap_peak);
  while (c > p && !atomic_compare_exchange_weak(&heap_peak, &p, c)) {
  }
}

void *malloc(size_t n) {
  void *p = __libc_malloc(n);
  if (p) heap_add((int64_t)malloc_usable_size(p));
  return p;
}
void free(void *p) {
  if (!p) return;
  heap_add(-(int64_t)malloc_usable_size(p));
  __libc_free(p);
}
void *calloc(size_t a, size_t b) {
  void *p = __libc_calloc(a, b);
  if (p) heap_add((int64_t)malloc_usable_size(p));
  return p;
}
void *realloc(void *p, size_t n) {
  int64_t old = p ? (int64_t)malloc_usable_size(p) : 0;
  void *q = __libc_realloc(p, n);
  if (q) heap_add((int64_t)malloc_usable_size(q) - old);
  else if (p && n == 0) heap_add(-old); /* freed */
  return q;
}
void *memalign(size_t al, size_t n) {
  void *p = __libc_memalign(al, n);
  if (p) heap_add((int64_t)malloc_usable_size(p));
  return p;
}
void *aligned_alloc(size_t al, size_t n) { return memalign(al, n); }
int posix_memalign(void **out, size_t al, size_t n) {
  void *p = memalign(al, n);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
void *valloc(size_t n) { return memalign((size_t)sysconf(_SC_PAGESIZE), n); }

/* ---- /proc ---- */
static int64_t status_kib(const char *key) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  int64_t v = -1;
  size_t kl = strlen(key);
  while (fgets(line, sizeof line, f))
    if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
      v = strtoll(line + kl + 1, NULL, 10);
      break;
    }
  fclose(f);
  return v;
}

static void reset_hwm(void) {
  FILE *f = fopen("/proc/self/clear_refs", "w");
  if (f) {
    fputs("5", f);
    fclose(f);
  }
}

/* ---- the paths ---- */
enum { P_PLAIN, P_SDPA, P_FLASH, P_CHUNKED, P_COUNT };
static const char *path_names[P_COUNT] = {"plain", "sdpa", "flash", "flash chunked"};

typedef struct {
  int64_t fwd_peak, fwd_held, total_peak, rss_fwd, rss_total;
  double ms_fwd, ms_total;
  int ok;
} Result;

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static lts_tensor *attend(int path, lts_tensor *q, lts_tensor *k, lts_tensor *v, double scale) {
  lts_tensor *out = NULL;
  if (path == P_FLASH || path == P_CHUNKED) {
    lts_flash_set_fused(path == P_FLASH);
    if (lts_flash_attention(q, k, v, NULL, 0, 0, 0, 0.0, &out)) fprintf(stderr, "flash: %s\n", lts_last_error());
  } else if (path == P_SDPA) {
    if (lts_sdpa(q, k, v, NULL, 0.0, 0, 0, 0, &out)) fprintf(stderr, "sdpa: %s\n", lts_last_error());
  } else {
    lts_tensor *kt = NULL, *s = NULL, *s2 = NULL, *p = NULL;
    lts_transpose(k, -2, -1, &kt);
    lts_binary(LTS_B_MATMUL, q, kt, &s);
    lts_tensor_free(kt);
    lts_binary_scalar(LTS_B_MUL, s, scale, 0, &s2);
    lts_tensor_free(s);
    lts_softmax(s2, -1, 0, &p);
    lts_tensor_free(s2);
    lts_binary(LTS_B_MATMUL, p, v, &out);
    lts_tensor_free(p);
  }
  return out;
}

static Result measure(int path, int64_t L, int backward) {
  Result r;
  memset(&r, 0, sizeof r);
  int64_t d[4] = {1, 4, L, 64};
  lts_tensor *q = NULL, *k = NULL, *v = NULL;
  lts_fill(LTS_FILL_RANDN, d, 4, 0, LT_F32, NULL, &q);
  lts_fill(LTS_FILL_RANDN, d, 4, 0, LT_F32, NULL, &k);
  lts_fill(LTS_FILL_RANDN, d, 4, 0, LT_F32, NULL, &v);
  if (backward) {
    lts_set_requires_grad(q, 1);
    lts_set_requires_grad(k, 1);
    lts_set_requires_grad(v, 1);
  }
  reset_hwm();
  int64_t rss0 = status_kib("VmRSS");
  int64_t base = atomic_load(&heap_cur);
  atomic_store(&heap_peak, base);
  double t0 = now_ms();
  lts_tensor *out = attend(path, q, k, v, 1 / sqrt(64.0));
  r.ms_fwd = now_ms() - t0;
  r.fwd_peak = atomic_load(&heap_peak) - base;
  r.fwd_held = atomic_load(&heap_cur) - base;
  r.rss_fwd = (status_kib("VmHWM") - rss0) * 1024;
  r.ok = out != NULL;
  if (backward && out) {
    lts_tensor *loss = NULL;
    lts_reduce(LTS_R_SUM, out, 0, 0, 0, &loss);
    if (lts_backward(loss, 0, 0)) {
      fprintf(stderr, "backward: %s\n", lts_last_error());
      r.ok = 0;
    }
    lts_tensor_free(loss);
    r.ms_total = now_ms() - t0;
    r.total_peak = atomic_load(&heap_peak) - base;
    r.rss_total = (status_kib("VmHWM") - rss0) * 1024;
  }
  lts_tensor_free(out);
  lts_tensor_free(q);
  lts_tensor_free(k);
  lts_tensor_free(v);
  return r;
}

/* runs measure() in a child; the result comes back through a pipe */
static Result in_child(int path, int64_t L, int backward) {
  Result r;
  memset(&r, 0, sizeof r);
  int fd[2];
  if (pipe(fd)) return r;
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(fd[0]);
    Result m = measure(path, L, backward);
    ssize_t w = write(fd[1], &m, sizeof m);
    (void)w;
    _exit(0);
  }
  close(fd[1]);
  if (read(fd[0], &r, sizeof r) != (ssize_t)sizeof r) r.ok = 0;
  close(fd[0]);
  int st;
  waitpid(pid, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) r.ok = 0;
  return r;
}

static void mib(char *buf, size_t n, int64_t bytes) { snprintf(buf, n, "%.2f", bytes / 1048576.0); }

int main(int argc, char **argv) {
  int64_t seqs[16] = {512, 2048, 8192};
  int ns = 3;
  if (argc > 1) {
    ns = 0;
    for (int i = 1; i < argc && ns < 16; i++) seqs[ns++] = atoll(argv[i]);
  }
  /* a fork()ed child cannot use an OpenMP pool the parent started: the parent
   * runs no libtorch op; each child starts its own */
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    lts_runtime_info info;
    lts_info(&info);
    printf("libtorch %s, %d threads; batch 1, heads 4, head_dim 64, float32, no mask\n", info.version, info.threads);
    fflush(stdout);
    _exit(0);
  }
  waitpid(pid, NULL, 0);
  printf("MiB above the level after q, k, v were made (heap: interposed malloc; RSS: VmHWM - VmRSS)\n\n");
  printf("| seq | path | fwd heap peak | fwd held | fwd RSS peak | fwd+bwd heap peak | fwd+bwd RSS peak | fwd ms | fwd+bwd ms |\n");
  printf("|---:|---|---:|---:|---:|---:|---:|---:|---:|\n");
  for (int s = 0; s < ns; s++)
    for (int p = 0; p < P_COUNT; p++) {
      Result f = in_child(p, seqs[s], 0), b = in_child(p, seqs[s], 1);
      char a1[32], a2[32], a3[32], a4[32], a5[32];
      mib(a1, sizeof a1, f.fwd_peak);
      mib(a2, sizeof a2, b.fwd_held);
      mib(a3, sizeof a3, f.rss_fwd);
      mib(a4, sizeof a4, b.total_peak);
      mib(a5, sizeof a5, b.rss_total);
      if (!f.ok || !b.ok) printf("| %lld | %s | failed (%s) |\n", (long long)seqs[s], path_names[p], !f.ok ? "forward" : "backward");
      else
        printf("| %lld | %s | %s | %s | %s | %s | %s | %.0f | %.0f |\n", (long long)seqs[s], path_names[p], a1, a2, a3, a4, a5,
               f.ms_fwd, b.ms_total);
      fflush(stdout);
    }
  printf("\nfwd held: what the forward keeps for backward (saved tensors and the %.2f MiB output at the longest seq).\n",
         4.0 * seqs[ns - 1] * 64 * 4 / 1048576.0);
  return 0;
}
