// Multiplies two 40x40 integer matrices ROUNDS times: tight inner loops of
// loads, multiplies and adds.
#include <stdint.h>

#define N 40
#define ROUNDS 48

static int32_t a[N][N], b[N][N], c[N][N];

int akira_main(void) {
    uint32_t check = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            a[i][j] = (i * 7 + j * 3) % 17 - 8;
            b[i][j] = (i * 5 + j * 11) % 13 - 6;
        }
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                int32_t sum = 0;
                for (int k = 0; k < N; k++) sum += a[i][k] * b[k][j];
                c[i][j] = sum;
            }
        check = check * 31 + (uint32_t)c[r % N][(r * 7) % N];
        // Feed the result back so no round can be skipped.
        a[r % N][r % N] = c[r % N][r % N] & 0xff;
    }
    return (int)check;
}
