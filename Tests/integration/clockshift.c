/* An LD_PRELOAD shim for the clock-jump tests: the wall clock (CLOCK_REALTIME through
 * clock_gettime, gettimeofday and time) runs shifted by the number of seconds written in the
 * file named by $CLOCKSHIFT_FILE, read again at every call, so a test moves the clock of a
 * running process back and forth. The monotonic clock, which timers use, is left alone, as a
 * real clock step leaves it. (libfaketime would do, but preloaded into a Swift program it
 * empties CommandLine.arguments.) */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static long shift(void) {
    const char *path = getenv("CLOCKSHIFT_FILE");
    long seconds = 0;
    FILE *file;
    if (path == NULL || (file = fopen(path, "re")) == NULL) return 0;
    if (fscanf(file, "%ld", &seconds) != 1) seconds = 0;
    fclose(file);
    return seconds;
}

int clock_gettime(clockid_t clock, struct timespec *now) {
    static int (*real)(clockid_t, struct timespec *);
    if (real == NULL) real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
    int result = real(clock, now);
    if (result == 0 && (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE)) now->tv_sec += shift();
    return result;
}

int gettimeofday(struct timeval *restrict now, void *restrict zone) {
    static int (*real)(struct timeval *restrict, void *restrict);
    if (real == NULL) real = (int (*)(struct timeval *restrict, void *restrict))dlsym(RTLD_NEXT, "gettimeofday");
    int result = real(now, zone);
    if (result == 0 && now != NULL) now->tv_sec += shift();
    return result;
}

time_t time(time_t *now) {
    struct timespec spec;
    clock_gettime(CLOCK_REALTIME, &spec);
    if (now != NULL) *now = spec.tv_sec;
    return spec.tv_sec;
}
