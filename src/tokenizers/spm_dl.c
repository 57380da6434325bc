/* spm_dl.c - loads liblt_spm.so (SentencePiece behind the C API of lt_spm.h)
 * into its own link namespace with dlmopen(LM_ID_NEWLM).
 *
 * libsentencepiece carries protobuf-lite generated code that clashes with the
 * full libprotobuf libtorch loads (a segfault in a static initialiser when
 * both live in the main namespace). In a new namespace it gets its own copies
 * of libsentencepiece, libstdc++, libgcc and libc, so nothing is shared and
 * nothing clashes. Consequences handled here:
 *  - memory returned by the namespace belongs to the namespace's heap: it is
 *    copied into ours and released with the namespace's lt_spm_free_mem;
 *  - SentencePiece reports some internal failures by calling exit(): the
 *    trainer (the only path with many such checks) runs in a child process.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tokenizer_internal.h"

static lt_spm_api g_api;
static int g_ok;
static char g_error[2048];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static int file_exists(const char *p) {
  struct stat st;
  return p && *p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The directory of the shared object holding this function. */
static int our_dir(char *buf, size_t n) {
  Dl_info info;
  if (!dladdr((void *)&lt_spm_api_get, &info) || !info.dli_fname || !*info.dli_fname) return -1;
  const char *fname = info.dli_fname;
  char resolved[4096];
  if (realpath(fname, resolved)) fname = resolved;
  const char *slash = strrchr(fname, '/');
  if (!slash) {
    snprintf(buf, n, ".");
    return 0;
  }
  size_t len = (size_t)(slash - fname);
  if (len + 1 > n) return -1;
  memcpy(buf, fname, len);
  buf[len] = 0;
  return 0;
}

#define SYM(field, name)                                                     \
  do {                                                                       \
    *(void **)(&api->field) = dlsym(h, name);                                \
    if (!api->field) {                                                       \
      snprintf(why, whylen, "%s: symbol %s missing", path, name);            \
      return -1;                                                             \
    }                                                                        \
  } while (0)

static int try_load(const char *path, lt_spm_api *api, char *why, size_t whylen) {
  if (!file_exists(path)) {
    snprintf(why, whylen, "%s: no such file", path);
    return -1;
  }
  void *h = dlmopen(LM_ID_NEWLM, path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *e = dlerror();
    snprintf(why, whylen, "dlmopen %s: %s", path, e ? e : "failed");
    return -1;
  }
  memset(api, 0, sizeof *api);
  api->handle = h;
  SYM(api_version, "lt_spm_api_version");
  if (api->api_version() != LT_SPM_API_VERSION) {
    snprintf(why, whylen, "%s: API version %d, expected %d (rebuild it)", path, api->api_version(),
             LT_SPM_API_VERSION);
    return -1;
  }
  SYM(version, "lt_spm_version");
  SYM(last_error, "lt_spm_last_error");
  SYM(free_mem, "lt_spm_free_mem");
  SYM(load, "lt_spm_load");
  SYM(load_bytes, "lt_spm_load_bytes");
  SYM(free_model, "lt_spm_free");
  SYM(encode_ids, "lt_spm_encode_ids");
  SYM(encode_pieces, "lt_spm_encode_pieces");
  SYM(decode_ids, "lt_spm_decode_ids");
  SYM(vocab_size, "lt_spm_vocab_size");
  SYM(piece_to_id, "lt_spm_piece_to_id");
  SYM(id_to_piece, "lt_spm_id_to_piece");
  SYM(special_ids, "lt_spm_special_ids");
  SYM(is_control, "lt_spm_is_control");
  SYM(is_unknown, "lt_spm_is_unknown");
  SYM(is_byte, "lt_spm_is_byte");
  SYM(train, "lt_spm_train");
  snprintf(api->path, sizeof api->path, "%s", path);
  return 0;
}

static void load_once(void) {
  char dir[4096], path[4200], why1[1024] = "", why2[1024] = "";
  if (our_dir(dir, sizeof dir) == 0) {
    snprintf(path, sizeof path, "%s/liblt_spm.so", dir);
    if (try_load(path, &g_api, why1, sizeof why1) == 0) {
      g_ok = 1;
      return;
    }
  } else {
    snprintf(why1, sizeof why1, "cannot locate liblispe_torch.so (dladdr failed)");
  }
  const char *env = getenv("LT_SPM_LIBRARY");
  if (env && *env) {
    if (try_load(env, &g_api, why2, sizeof why2) == 0) {
      g_ok = 1;
      return;
    }
  } else {
    snprintf(why2, sizeof why2, "LT_SPM_LIBRARY is not set");
  }
  snprintf(g_error, sizeof g_error,
           "SentencePiece is not available: %s; %s (build liblt_spm.so with libsentencepiece-dev installed, "
           "or point LT_SPM_LIBRARY at it)",
           why1, why2);
}

const lt_spm_api *lt_spm_api_get(void) {
  pthread_once(&g_once, load_once);
  return g_ok ? &g_api : NULL;
}

const char *lt_spm_api_error(void) {
  pthread_once(&g_once, load_once);
  return g_ok ? "" : g_error;
}

static int ns_fail(const lt_spm_api *api, char *err, size_t errlen) {
  snprintf(err, errlen, "%s", api->last_error());
  return -1;
}

int lt_spm_dl_encode(const lt_spm_api *api, const lt_spm *m, const char *text, size_t len, int64_t **ids,
                     int64_t *n, char *err, size_t errlen) {
  int32_t *r = NULL;
  size_t k = 0;
  if (api->encode_ids(m, text, len, &r, &k)) return ns_fail(api, err, errlen);
  int64_t *o = (int64_t *)malloc(sizeof(int64_t) * (k ? k : 1));
  if (!o) {
    api->free_mem(r);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  for (size_t i = 0; i < k; i++) o[i] = r[i];
  api->free_mem(r);
  *ids = o;
  *n = (int64_t)k;
  return 0;
}

int lt_spm_dl_encode_pieces(const lt_spm_api *api, const lt_spm *m, const char *text, size_t len,
                            char ***pieces, int64_t *n, char *err, size_t errlen) {
  char *buf = NULL;
  size_t blen = 0, k = 0;
  if (api->encode_pieces(m, text, len, &buf, &blen, &k)) return ns_fail(api, err, errlen);
  char **o = (char **)calloc(k ? k : 1, sizeof(char *));
  if (!o) goto oom;
  size_t off = 0;
  for (size_t i = 0; i < k; i++) {
    size_t l = strnlen(buf + off, blen - off);
    o[i] = (char *)malloc(l + 1);
    if (!o[i]) {
      for (size_t j = 0; j < i; j++) free(o[j]);
      free(o);
      goto oom;
    }
    memcpy(o[i], buf + off, l);
    o[i][l] = 0;
    off += l + 1;
  }
  api->free_mem(buf);
  *pieces = o;
  *n = (int64_t)k;
  return 0;
oom:
  api->free_mem(buf);
  snprintf(err, errlen, "out of memory");
  return -1;
}

int lt_spm_dl_decode(const lt_spm_api *api, const lt_spm *m, const int32_t *ids, size_t n, char **text,
                     size_t *len, char *err, size_t errlen) {
  char *r = NULL;
  size_t k = 0;
  if (api->decode_ids(m, ids, n, &r, &k)) return ns_fail(api, err, errlen);
  char *o = (char *)malloc(k + 1);
  if (!o) {
    api->free_mem(r);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  memcpy(o, r, k);
  o[k] = 0;
  api->free_mem(r);
  *text = o;
  *len = k;
  return 0;
}

int lt_spm_dl_id_to_piece(const lt_spm_api *api, const lt_spm *m, int32_t id, char **piece, char *err,
                          size_t errlen) {
  char *r = NULL;
  size_t k = 0;
  if (api->id_to_piece(m, id, &r, &k)) return ns_fail(api, err, errlen);
  char *o = (char *)malloc(k + 1);
  if (!o) {
    api->free_mem(r);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  memcpy(o, r, k);
  o[k] = 0;
  api->free_mem(r);
  *piece = o;
  return 0;
}

/* Writes all of buf to fd (the child's report). */
static void write_all(int fd, const char *buf, size_t n) {
  while (n) {
    ssize_t w = write(fd, buf, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;
    }
    buf += w;
    n -= (size_t)w;
  }
}

int lt_spm_dl_train(const lt_spm_api *api, const char *input, const char *prefix, int vocab_size,
                    const char *model_type, const char *extra_args, int quiet, char *err, size_t errlen) {
  int fds[2];
  if (pipe(fds) != 0) {
    snprintf(err, errlen, "cannot create a pipe: %s", strerror(errno));
    return -1;
  }
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    snprintf(err, errlen, "cannot fork the training process: %s", strerror(errno));
    return -1;
  }
  if (pid == 0) {
    /* child: train, report "0" or "1<message>", and leave without running
     * any of the parent's exit handlers */
    close(fds[0]);
    char *msg = NULL;
    int rc = api->train(input, prefix, vocab_size, model_type, extra_args, quiet, &msg);
    if (rc == 0) {
      write_all(fds[1], "0", 1);
    } else {
      const char *e = api->last_error();
      write_all(fds[1], "1", 1);
      write_all(fds[1], e, strlen(e));
    }
    if (msg) api->free_mem(msg);
    close(fds[1]);
    _exit(rc == 0 ? 0 : 1);
  }
  close(fds[1]);
  char report[2048];
  size_t got = 0;
  for (;;) {
    ssize_t r = read(fds[0], report + got, sizeof report - 1 - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
    if (got == sizeof report - 1) {
      /* drain the rest so the child never blocks on a full pipe */
      char sink[512];
      while (read(fds[0], sink, sizeof sink) > 0) {}
      break;
    }
  }
  report[got] = 0;
  close(fds[0]);
  int status = 0, reaped = 1;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno == EINTR) continue;
    if (errno == ECHILD) { /* SIGCHLD ignored: the child was reaped already, trust its report */
      reaped = 0;
      break;
    }
    snprintf(err, errlen, "waiting for the training process: %s", strerror(errno));
    return -1;
  }
  if (!reaped && got >= 1 && report[0] == '0') return 0;
  if (got >= 1 && report[0] == '0' && WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  if (got >= 1 && report[0] == '1') {
    snprintf(err, errlen, "%s", report + 1);
    return -1;
  }
  if (WIFSIGNALED(status))
    snprintf(err, errlen, "the SentencePiece trainer crashed (signal %d)", WTERMSIG(status));
  else
    snprintf(err, errlen, "the SentencePiece trainer stopped with status %d without a report",
             WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return -1;
}
