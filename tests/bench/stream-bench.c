/*
 * The baselines of `strata update` inside the guest (tests/bench/bench.py):
 * the same bytes from the same pipe, in the update's 256 KiB chunks, with one
 * part of its job each.
 *
 *   stream-bench read         read stdin to its end (the source alone)
 *   stream-bench hash         read and SHA-256 it with OpenSSL's libcrypto,
 *                             the engine strata links (the hash alone)
 *   stream-bench write DEV    read and write() it to DEV, then fsync (the
 *                             device's plain write, dd-like)
 *
 * Prints one line: "stream-bench MODE: BYTES bytes in SECONDS s" (the clock
 * is CLOCK_MONOTONIC: virtual time under QEMU's -icount). Built static with
 * the board's cross compiler against the sysroot's libcrypto.a.
 */
#include <errno.h>
#include <fcntl.h>
/* The low-level calls, as init/core/sha256.cpp: the same code path (and CPU dispatch). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { kChunk = 256 << 10 }; /* init/ops/update.cpp's kChunk */

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fail(const char *what) {
  fprintf(stderr, "stream-bench: %s: %s\n", what, strerror(errno));
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2 || (strcmp(argv[1], "write") == 0 && argc != 3)) {
    fprintf(stderr, "usage: stream-bench read|hash|write DEV < DATA\n");
    return 2;
  }
  const char *mode = argv[1];
  int hash = strcmp(mode, "hash") == 0, out = -1;
  if (strcmp(mode, "write") == 0) {
    out = open(argv[2], O_WRONLY | O_CLOEXEC);
    if (out < 0) return fail(argv[2]);
  } else if (!hash && strcmp(mode, "read") != 0) {
    fprintf(stderr, "stream-bench: unknown mode %s\n", mode);
    return 2;
  }
  char *buf = malloc(kChunk);
  SHA256_CTX ctx;
  if (!buf || !SHA256_Init(&ctx)) return fail("setup");
  unsigned long long total = 0;
  double t0 = now();
  for (;;) {
    /* Fill a whole chunk as the update does (a pipe hands out 64 KiB at a time). */
    size_t have = 0;
    while (have < kChunk) {
      ssize_t n = read(0, buf + have, kChunk - have);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail("read stdin");
      if (n == 0) break;
      have += (size_t)n;
    }
    if (have == 0) break;
    if (hash && !SHA256_Update(&ctx, buf, have)) return fail("sha256");
    for (size_t done = 0; out >= 0 && done < have;) {
      ssize_t n = write(out, buf + done, have - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail(argv[2]);
      done += (size_t)n;
    }
    total += have;
    if (have < kChunk) break;
  }
  unsigned char md[SHA256_DIGEST_LENGTH];
  if (hash && !SHA256_Final(md, &ctx)) return fail("sha256");
  if (out >= 0 && fsync(out) != 0) return fail("fsync");
  double seconds = now() - t0;
  printf("stream-bench %s: %llu bytes in %.3f s", mode, total, seconds);
  if (hash) {
    printf(", sha256 ");
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) printf("%02x", md[i]);
  }
  printf("\n");
  free(buf);
  return 0;
}
