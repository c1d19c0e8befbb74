/* ---- Helpers (not imports) -------------------------------------------- */

/* Logs a NUL-terminated string. */
static inline int32_t akira_log(int32_t level, const char *text) {
    uint32_t len = 0;
    while (text[len] != 0) {
        len++;
    }
    return akira_log_write(level, text, len);
}

static inline int32_t akira_sleep_ms(uint32_t ms) {
    return akira_timer_sleep_us((int64_t)ms * 1000);
}

#ifdef __cplusplus
}
#endif

#endif /* AKIRA_H */
