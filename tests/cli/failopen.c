/* LD_PRELOAD shim for tests/cli/fail_open.sh: open, open64, openat, openat64,
 * creat, fopen and fopen64 fail with errno WS_FAIL_ERRNO (default EACCES) for
 * every path that contains the substring WS_FAIL_OPEN; everything else goes
 * to the real libc function. Unset or empty WS_FAIL_OPEN: a no-op. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

static int should_fail(const char *path) {
    const char *needle = getenv("WS_FAIL_OPEN");
    if (!needle || !*needle || !path || !strstr(path, needle)) return 0;
    const char *code = getenv("WS_FAIL_ERRNO");
    errno = code && *code ? atoi(code) : EACCES;
    return 1;
}

#define REAL(name) \
    static __typeof__(&name) real_##name; \
    if (!real_##name) real_##name = (__typeof__(&name))dlsym(RTLD_NEXT, #name)

static mode_t mode_of(int flags, va_list ap) {
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    const mode_t mode = mode_of(flags, ap);
    va_end(ap);
    if (should_fail(path)) return -1;
    REAL(open);
    return real_open(path, flags, mode);
}

int open64(const char *path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    const mode_t mode = mode_of(flags, ap);
    va_end(ap);
    if (should_fail(path)) return -1;
    REAL(open64);
    return real_open64(path, flags, mode);
}

int openat(int dir, const char *path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    const mode_t mode = mode_of(flags, ap);
    va_end(ap);
    if (should_fail(path)) return -1;
    REAL(openat);
    return real_openat(dir, path, flags, mode);
}

int openat64(int dir, const char *path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    const mode_t mode = mode_of(flags, ap);
    va_end(ap);
    if (should_fail(path)) return -1;
    REAL(openat64);
    return real_openat64(dir, path, flags, mode);
}

int creat(const char *path, mode_t mode) {
    if (should_fail(path)) return -1;
    REAL(creat);
    return real_creat(path, mode);
}

FILE *fopen(const char *path, const char *mode) {
    if (should_fail(path)) return NULL;
    REAL(fopen);
    return real_fopen(path, mode);
}

FILE *fopen64(const char *path, const char *mode) {
    if (should_fail(path)) return NULL;
    REAL(fopen64);
    return real_fopen64(path, mode);
}
