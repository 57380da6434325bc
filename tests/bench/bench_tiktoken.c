/*
 * bench_tiktoken.c -- single-thread encode throughput of lt_tiktoken.
 *
 * Usage: bench_tiktoken [SHARED_DATA_DIR [CORPUS_FILE [RUNS]]]
 *   SHARED_DATA_DIR defaults to $LT_SHARED_DATA, else ../shared/data;
 *   CORPUS_FILE defaults to <data>/corpus/licenses_1MiB.txt; RUNS to 7.
 * For each encoding found under <data>/tiktoken (and the Llama-3
 * tokenizer.json), encodes the whole corpus (ordinary encoding, one call,
 * one thread) RUNS times after one warm-up and prints the best and the
 * median throughput in MiB/s.  Compare with bench_tiktoken.py (OpenAI's
 * tiktoken from PyPI) on the same file.
 *
 * Build: gcc -std=c11 -O2 -Iinclude src/tokenizers/tiktoken*.c tests/bench/bench_tiktoken.c \
 *        $(pkg-config --cflags --libs libpcre2-8 json-c) -lpthread -o bench_tiktoken
 */
#define _POSIX_C_SOURCE 200809L

#include "lt_tiktoken.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) { free(b); b = NULL; }
    fclose(f);
    if (b) { b[n] = 0; *len = (size_t)n; }
    return b;
}

int main(int argc, char **argv)
{
    const char *data = argc > 1 ? argv[1] : getenv("LT_SHARED_DATA");
    if (!data || !*data) data = "../shared/data";
    char corpus_path[1024];
    if (argc > 2) snprintf(corpus_path, sizeof corpus_path, "%s", argv[2]);
    else snprintf(corpus_path, sizeof corpus_path, "%s/corpus/licenses_1MiB.txt", data);
    int runs = argc > 3 ? atoi(argv[3]) : 7;
    if (runs < 1) runs = 1;

    size_t len;
    char *text = slurp(corpus_path, &len);
    if (!text) { printf("skipped: cannot read %s\n", corpus_path); return 0; }
    double mib = (double)len / (1024.0 * 1024.0);
    printf("lt_tiktoken (C, PCRE2 JIT) single thread, %s (%.2f MiB), %d runs\n", corpus_path, mib, runs);

    const char *names[] = { "gpt2", "r50k_base", "p50k_base", "cl100k_base", "o200k_base", "llama3" };
    for (size_t e = 0; e < sizeof names / sizeof names[0]; e++) {
        char path[1024], err[512];
        if (strcmp(names[e], "llama3") == 0)
            snprintf(path, sizeof path, "%s/hf-tokenizers/llama3_tokenizer.json", data);
        else
            snprintf(path, sizeof path, "%s/tiktoken/%s.tiktoken", data, names[e]);
        double t0 = now();
        lt_tiktoken *t = lt_tiktoken_load_file(path, err, sizeof err);
        double tload = now() - t0;
        if (!t) { printf("  %-12s skipped: %s\n", names[e], err); continue; }
        uint32_t *ids; size_t n = 0;
        if (lt_tiktoken_encode(t, text, len, 0, NULL, 0, &ids, &n)) { printf("  %-12s encode failed\n", names[e]); lt_tiktoken_free(t); continue; }
        free(ids);
        double *tm = malloc((size_t)runs * sizeof(double));
        for (int r = 0; r < runs; r++) {
            double a = now();
            lt_tiktoken_encode(t, text, len, 0, NULL, 0, &ids, &n);
            tm[r] = now() - a;
            free(ids);
        }
        qsort(tm, (size_t)runs, sizeof(double), cmpd);
        printf("  %-12s %8zu tokens  best %7.1f ms  %6.2f MiB/s   median %7.1f ms  %6.2f MiB/s   (load %.0f ms)\n",
               names[e], n, tm[0] * 1e3, mib / tm[0], tm[runs / 2] * 1e3, mib / tm[runs / 2], tload * 1e3);
        free(tm);
        lt_tiktoken_free(t);
    }
    free(text);
    return 0;
}
