/*
 * A tour of the native API from C: one call or two per peripheral module
 * on the simulated board, each result checked. Exits with 0 when all are
 * as expected, or with the number of the first check that failed.
 */
#include "akira.h"

/* Appends the decimal form of `v` to `buf` at `*len`. */
static void put_int(char *buf, uint32_t *len, int32_t v) {
    char digits[12];
    uint32_t n = 0;
    uint32_t u = v < 0 ? (uint32_t)(-(int64_t)v) : (uint32_t)v;
    if (v < 0) {
        buf[(*len)++] = '-';
    }
    do {
        digits[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    while (n > 0) {
        buf[(*len)++] = digits[--n];
    }
}

static void put_str(char *buf, uint32_t *len, const char *s) {
    while (*s) {
        buf[(*len)++] = *s++;
    }
}

/* Logs `label` followed by `value`. */
static void report(const char *label, int32_t value) {
    char line[64];
    uint32_t len = 0;
    put_str(line, &len, label);
    put_int(line, &len, value);
    akira_log_write(AKIRA_LOG_INFO, line, len);
}

AKIRA_EXPORT("akira_main") int32_t akira_main(void) {
    /* I2C: the TMP102's temperature register, 1/16 °C steps. */
    uint8_t raw[2];
    if (akira_i2c_read_reg(0, 0x48, 0x00, raw, 2) != 0) return 1;
    int32_t millideg = (int32_t)((int16_t)((raw[0] << 8) | raw[1]) >> 4) * 1000 / 16;
    report("i2c tmp102 m°C: ", millideg);

    /* The guard: the EEPROM at 0x50 is on the bus but not granted. */
    if (akira_i2c_read(0, 0x50, raw, 1) != AKIRA_EDENIED) return 2;

    /* SPI: the NOR flash's JEDEC id. */
    const uint8_t jedec = 0x9f;
    uint8_t id[3];
    if (akira_spi_write_then_read(0, &jedec, 1, id, 3) != 0 || id[0] != 0xef) return 3;
    report("spi flash manufacturer: ", id[0]);

    /* UART: the loopback gives back what is written. */
    char echo[2];
    if (akira_uart_write(0, "hi", 2, -1) != 2) return 4;
    if (akira_uart_read(0, echo, 2, 1000) != 2 || echo[0] != 'h') return 5;

    /* PWM: half brightness. */
    int32_t max = akira_pwm_max_duty(0);
    if (max <= 0 || akira_pwm_set_duty(0, max / 2) != 0) return 6;

    /* ADC and sensor. */
    int32_t mv = akira_adc_read_mv(0);
    if (mv < 0) return 7;
    report("adc0 mV: ", mv);
    int32_t values[3];
    if (akira_sensor_kind(0) != AKIRA_SENSOR_TEMPERATURE) return 8;
    if (akira_sensor_read(0, values, sizeof values) != 1) return 9;
    report("sensor0 m°C: ", values[0]);

    /* RNG and crypto. */
    uint8_t noise[8] = {0};
    if (akira_rng_fill(noise, sizeof noise) != 0) return 10;
    uint8_t digest[32];
    if (akira_crypto_sha256("abc", 3, digest) != 0 || digest[0] != 0xba || digest[31] != 0xad) return 11;
    report("sha256(abc)[0]: ", digest[0]);

    /* A bad pointer is an error code, not a crash. */
    if (akira_rng_fill((void *)0xfffff000, 16) != AKIRA_EFAULT) return 12;

    akira_log(AKIRA_LOG_INFO, "tour complete");
    return 0;
}
