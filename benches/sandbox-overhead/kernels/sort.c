// Sorts 4096 pseudo-random words with an in-place quicksort (Hoare
// partition, insertion sort below 16 elements), ROUNDS times; returns a
// checksum of the sorted data. Branchy, load/store heavy.
#include <stdint.h>

#define N 4096
#define ROUNDS 24

static uint32_t data[N];

static void insertion(uint32_t *a, int lo, int hi) {
    for (int i = lo + 1; i <= hi; i++) {
        uint32_t v = a[i];
        int j = i - 1;
        while (j >= lo && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

static void quicksort(uint32_t *a, int lo, int hi) {
    while (hi - lo > 16) {
        uint32_t pivot = a[lo + (hi - lo) / 2];
        int i = lo - 1, j = hi + 1;
        for (;;) {
            do i++; while (a[i] < pivot);
            do j--; while (a[j] > pivot);
            if (i >= j) break;
            uint32_t t = a[i]; a[i] = a[j]; a[j] = t;
        }
        // Recurse into the smaller half, loop on the larger.
        if (j - lo < hi - j) { quicksort(a, lo, j); lo = j + 1; }
        else { quicksort(a, j + 1, hi); hi = j; }
    }
    insertion(a, lo, hi);
}

int akira_main(void) {
    uint32_t check = 0, seed = 12345;
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < N; i++) {
            seed = seed * 1103515245u + 12345u;
            data[i] = seed >> 8;
        }
        quicksort(data, 0, N - 1);
        for (int i = 0; i < N; i += 97) check = check * 31 + data[i];
    }
    return (int)check;
}
