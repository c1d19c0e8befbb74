// Bitwise CRC-32 (IEEE, reflected) over a 16 KiB buffer, ROUNDS times:
// a shift/xor loop with one data-dependent branch per bit.
#include <stdint.h>

#define LEN 16384
#define ROUNDS 16

static uint8_t buf[LEN];

static uint32_t crc32(const uint8_t *p, int len, uint32_t crc) {
    crc = ~crc;
    for (int i = 0; i < len; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) {
            if (crc & 1) crc = (crc >> 1) ^ 0xEDB88320u;
            else crc >>= 1;
        }
    }
    return ~crc;
}

int akira_main(void) {
    uint32_t seed = 7, crc = 0;
    for (int i = 0; i < LEN; i++) {
        seed = seed * 1664525u + 1013904223u;
        buf[i] = (uint8_t)(seed >> 24);
    }
    for (int r = 0; r < ROUNDS; r++) crc = crc32(buf, LEN, crc);
    return (int)crc;
}
