/*
 * A plain C program for WASI: printf, malloc, time and a file, built with
 * Debian's clang and wasi-libc and run by Akira under its guard:
 *
 *   ./build.sh && akira run build/hello.wasm --manifest Akira.toml
 *
 * Nothing here knows about Akira except the allocator: akira_malloc.h
 * replaces wasi-libc's malloc (which grows memory in 64 KiB pages) with one
 * over a fixed 8 KiB heap, so the app runs in about 20 KiB of RAM.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define AKIRA_HEAP_SIZE 8192
#define AKIRA_MALLOC_IMPLEMENTATION
#include "akira_malloc.h"

int main(int argc, char **argv) {
    printf("hello from C on WASI: %d argument(s), first \"%s\"\n", argc, argc > 0 ? argv[0] : "");
    const char *mode = getenv("MODE");
    printf("MODE=%s\n", mode ? mode : "(unset)");

    /* malloc: a table of squares. */
    int n = 64;
    int *squares = malloc((size_t)n * sizeof *squares);
    if (!squares) {
        perror("malloc");
        return 1;
    }
    long sum = 0;
    for (int i = 0; i < n; i++) {
        squares[i] = i * i;
        sum += squares[i];
    }
    printf("sum of %d squares: %ld\n", n, sum);
    free(squares);

    /* time: the monotonic clock across a sleep, and the calendar. */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    printf("slept %ld ms\n", ms);
    time_t now = time(NULL);
    if (now != (time_t)-1) {
        struct tm *utc = gmtime(&now);
        printf("UTC year %d\n", utc->tm_year + 1900);
    } else {
        printf("no calendar clock on this board\n");
    }

    /* A file: count this app's runs in it. */
    int runs = 0;
    FILE *f = fopen("runs.txt", "r");
    if (f) {
        if (fscanf(f, "%d", &runs) != 1) {
            runs = 0;
        }
        fclose(f);
    }
    runs++;
    f = fopen("runs.txt", "w");
    if (!f) {
        perror("runs.txt");
        return 2;
    }
    fprintf(f, "%d\n", runs);
    fclose(f);
    printf("run number %d (kept in runs.txt)\n", runs);
    return 0;
}
