//! The calls Akira modules serve with the same shape: console, delay and
//! settings without a grant, then display, GPIO and input, HID, timer,
//! UART, I2C, PWM and ADC, crypto and the clock, sensors, radio, storage
//! and settings. Each family's checks inside its grant, outside it, and
//! with bad pointers and lengths.

use super::Family;

pub(super) fn families() -> Vec<Family> {
    vec![
        Family {
            caps: "",
            granted: "(call $expect (call $printf_native (i32.const 1024)) (i32.const 0) (i32.const 1))
                (call $expect (call $delay (i32.const 1000)) (i32.const 0) (i32.const 2))
                (call $expect (call $app_get_self_name (i32.const 2000) (i32.const 16)) (i32.const 1) (i32.const 3))
                (call $expect (i32.load8_u (i32.const 2000)) (i32.const 116) (i32.const 4))
                (call $expect (call $wdt_pet) (i32.const 0) (i32.const 5))
                (call $expect (call $power_get_mode) (i32.const 0) (i32.const 6))
                (call $expect (call $power_get_battery_level) (i32.const -19) (i32.const 7))
                (call $expect (call $power_get_battery_status (i32.const 2000) (i32.const 2004)) (i32.const -19) (i32.const 8))
                (call $expect (call $power_set_low_power (i32.const 1)) (i32.const 0) (i32.const 9))",
            denied: "",
            denials: 0,
            bad: "(call $expect (call $printf_native BAD) (i32.const -14) (i32.const 1))
                (call $expect (call $app_get_self_name BAD (i32.const 16)) (i32.const -14) (i32.const 2))
                (call $expect (call $app_get_self_name (i32.const 2000) (i32.const 0x7fffffff)) (i32.const -14) (i32.const 3))",
        },
        Family {
            caps: r#""display.write""#,
            granted: "(call $expect (call $display_clear (i32.const 0)) (i32.const 0) (i32.const 1))
                (call $expect (call $display_pixel (i32.const 1) (i32.const 1) (i32.const 0xffff)) (i32.const 0) (i32.const 2))
                (call $expect (call $display_rect (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 4) (i32.const 1)) (i32.const 0) (i32.const 3))
                (call $expect (call $display_rect_outline (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 4) (i32.const 1)) (i32.const 0) (i32.const 4))
                (call $expect (call $display_hline (i32.const 0) (i32.const 9) (i32.const 20) (i32.const 1)) (i32.const 0) (i32.const 5))
                (call $expect (call $display_vline (i32.const 9) (i32.const 0) (i32.const 20) (i32.const 1)) (i32.const 0) (i32.const 6))
                (call $expect (call $display_line (i32.const 0) (i32.const 0) (i32.const 9) (i32.const 9) (i32.const 1)) (i32.const 0) (i32.const 7))
                (call $expect (call $display_triangle (i32.const 0) (i32.const 0) (i32.const 9) (i32.const 0) (i32.const 0) (i32.const 9) (i32.const 1)) (i32.const 0) (i32.const 8))
                (call $expect (call $display_text (i32.const 0) (i32.const 0) (i32.const 1024) (i32.const 0xffff)) (i32.const 0) (i32.const 9))
                (call $expect (call $display_text_large (i32.const 0) (i32.const 0) (i32.const 1024) (i32.const 0xffff)) (i32.const 0) (i32.const 10))
                (call $expect (call $display_bitmap (i32.const 0) (i32.const 0) (i32.const 2) (i32.const 2) (i32.const 1100) (i32.const 8)) (i32.const 0) (i32.const 11))
                (call $expect (call $display_raw_write (i32.const 0) (i32.const 0) (i32.const 2) (i32.const 2) (i32.const 1100) (i32.const 8)) (i32.const 0) (i32.const 12))
                (call $expect (call $display_get_size (i32.const 2000) (i32.const 2004)) (i32.const 0) (i32.const 13))
                (call $expect (i32.load (i32.const 2000)) (i32.const 240) (i32.const 14))
                (call $expect (i32.load (i32.const 2004)) (i32.const 135) (i32.const 15))
                (call $expect (call $display_flush) (i32.const 0) (i32.const 16))
                (call $expect (call $display_circle (i32.const 20) (i32.const 20) (i32.const 5) (i32.const 0xffff)) (i32.const 0) (i32.const 17))
                (call $expect (call $display_circle_fill (i32.const 20) (i32.const 20) (i32.const 5) (i32.const 1)) (i32.const 0) (i32.const 18))
                (call $expect (call $display_rounded_rect (i32.const 0) (i32.const 0) (i32.const 20) (i32.const 10) (i32.const 3) (i32.const 1)) (i32.const 0) (i32.const 19))
                (call $expect (call $display_rounded_rect_fill (i32.const 0) (i32.const 0) (i32.const 20) (i32.const 10) (i32.const 3) (i32.const 1)) (i32.const 0) (i32.const 20))
                (call $expect (call $display_progress_bar (i32.const 0) (i32.const 0) (i32.const 50) (i32.const 8) (i32.const 30) (i32.const 100) (i32.const 0xffff) (i32.const 0)) (i32.const 0) (i32.const 21))
                (call $expect (call $display_number (i32.const 0) (i32.const 0) (i32.const -1234) (i32.const 1)) (i32.const 0) (i32.const 22))
                (call $expect (call $display_bitmap_transparent (i32.const 0) (i32.const 0) (i32.const 2) (i32.const 2) (i32.const 1100) (i32.const 8) (i32.const 0)) (i32.const 0) (i32.const 23))
                (call $expect (call $display_circle_fill (i32.const 0) (i32.const 0) (i32.const 5) (i32.const 1)) (i32.const 0) (i32.const 24))
                (call $expect (call $display_triangle_fill (i32.const 0) (i32.const 0) (i32.const 9) (i32.const 0) (i32.const 0) (i32.const 9) (i32.const 1)) (i32.const 0) (i32.const 25))
                (call $expect (call $display_text_huge (i32.const 0) (i32.const 0) (i32.const 1024) (i32.const 0xffff)) (i32.const 0) (i32.const 26))",
            denied: "(call $expect (call $display_clear (i32.const 0)) (i32.const -1) (i32.const 1))
                (call $expect (call $display_pixel (i32.const 1) (i32.const 1) (i32.const 0xffff)) (i32.const -1) (i32.const 2))
                (call $expect (call $display_rect (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 4) (i32.const 1)) (i32.const -1) (i32.const 3))
                (call $expect (call $display_rect_outline (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 4) (i32.const 1)) (i32.const -1) (i32.const 4))
                (call $expect (call $display_hline (i32.const 0) (i32.const 9) (i32.const 20) (i32.const 1)) (i32.const -1) (i32.const 5))
                (call $expect (call $display_vline (i32.const 9) (i32.const 0) (i32.const 20) (i32.const 1)) (i32.const -1) (i32.const 6))
                (call $expect (call $display_line (i32.const 0) (i32.const 0) (i32.const 9) (i32.const 9) (i32.const 1)) (i32.const -1) (i32.const 7))
                (call $expect (call $display_triangle (i32.const 0) (i32.const 0) (i32.const 9) (i32.const 0) (i32.const 0) (i32.const 9) (i32.const 1)) (i32.const -1) (i32.const 8))
                (call $expect (call $display_text (i32.const 0) (i32.const 0) (i32.const 1024) (i32.const 0xffff)) (i32.const -1) (i32.const 9))
                (call $expect (call $display_text_large (i32.const 0) (i32.const 0) (i32.const 1024) (i32.const 0xffff)) (i32.const -1) (i32.const 10))
                (call $expect (call $display_bitmap (i32.const 0) (i32.const 0) (i32.const 2) (i32.const 2) (i32.const 1100) (i32.const 8)) (i32.const -1) (i32.const 11))
                (call $expect (call $display_raw_write (i32.const 0) (i32.const 0) (i32.const 2) (i32.const 2) (i32.const 1100) (i32.const 8)) (i32.const -1) (i32.const 12))
                (call $expect (call $display_get_size (i32.const 2000) (i32.const 2004)) (i32.const 0) (i32.const 13))
                (call $expect (call $display_flush) (i32.const 0) (i32.const 16))
                (call $expect (call $display_circle (i32.const 20) (i32.const 20) (i32.const 5) (i32.const 0xffff)) (i32.const -1) (i32.const 17))
                (call $expect (call $display_circle_fill (i32.const 20) (i32.const 20) (i32.const 5) (i32.const 1)) (i32.const -1) (i32.const 18))
                (call $expect (call $display_rounded_rect (i32.const 0) (i32.const 0) (i32.const 20) (i32.const 10) (i32.const 3) (i32.const 1)) (i32.const -1) (i32.const 19))
                (call $expect (call $display_rounded_rect_fill (i32.const 0) (i32.const 0) (i32.const 20) (i32.const 10) (i32.const 3) (i32.const 1)) (i32.const -1) (i32.const 20))
                (call $expect (call $display_progress_bar (i32.const 0) (i32.const 0) (i32.const 50) (i32.const 8) (i32.const 30) (i32.const 100) (i32.const 0xffff) (i32.const 0)) (i32.const -1) (i32.const 21))
                (call $expect (call $display_number (i32.const 0) (i32.const 0) (i32.const -1234) (i32.const 1)) (i32.const -1) (i32.const 22))
                (call $expect (call $display_bitmap_transparent (i32.const 0) (i32.const 0) (i32.const 2) (i32.const 2) (i32.const 1100) (i32.const 8) (i32.const 0)) (i32.const -1) (i32.const 23))
                (call $expect (call $display_triangle_fill (i32.const 0) (i32.const 0) (i32.const 9) (i32.const 0) (i32.const 0) (i32.const 9) (i32.const 1)) (i32.const -1) (i32.const 25))
                (call $expect (call $display_text_huge (i32.const 0) (i32.const 0) (i32.const 1024) (i32.const 0xffff)) (i32.const -1) (i32.const 26))",
            // The triangle's three lines are three calls; the size is no
            // secret, and flushing an empty region draws nothing; a shape
            // drawn in boxes stops at its first denied box.
            denials: 23,
            bad: "(call $expect (call $display_text (i32.const 0) (i32.const 0) BAD (i32.const 0xffff)) (i32.const -14) (i32.const 1))
                (call $expect (call $display_bitmap (i32.const 0) (i32.const 0) (i32.const 2) (i32.const 2) BAD (i32.const 8)) (i32.const -14) (i32.const 2))
                (call $expect (call $display_bitmap (i32.const 0) (i32.const 0) (i32.const 2) (i32.const 2) (i32.const 1100) (i32.const 6)) (i32.const -22) (i32.const 3))
                (call $expect (call $display_get_size BAD (i32.const 2004)) (i32.const -14) (i32.const 4))
                (call $expect (call $display_get_size (i32.const 2000) BAD) (i32.const -14) (i32.const 5))
                (call $expect (call $display_circle (i32.const 9) (i32.const 9) (i32.const -1) (i32.const 1)) (i32.const -22) (i32.const 6))
                (call $expect (call $display_rounded_rect_fill (i32.const 0) (i32.const 0) (i32.const 9) (i32.const 9) (i32.const -1) (i32.const 1)) (i32.const -22) (i32.const 7))
                (call $expect (call $display_progress_bar (i32.const 0) (i32.const 0) (i32.const 9) (i32.const 9) (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 0)) (i32.const -22) (i32.const 8))
                (call $expect (call $display_bitmap_transparent (i32.const 0) (i32.const 0) (i32.const 2) (i32.const 2) BAD (i32.const 8) (i32.const 0)) (i32.const -14) (i32.const 9))
                (call $expect (call $display_bitmap_transparent (i32.const 0) (i32.const 0) (i32.const 2) (i32.const 2) (i32.const 1100) (i32.const 6) (i32.const 0)) (i32.const -22) (i32.const 10))
                (call $expect (call $display_bitmap_transparent (i32.const 0) (i32.const 0) (i32.const 0x10000) (i32.const 0x10000) (i32.const 1100) (i32.const -1) (i32.const 0)) (i32.const -22) (i32.const 11))
                (call $expect (call $display_rounded_rect (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 9) (i32.const 2) (i32.const 1)) (i32.const 0) (i32.const 12))",
        },
        Family {
            caps: r#""gpio.read", "gpio.write", "input.read""#,
            granted: "(call $expect (call $gpio_configure (i32.const 2) (i32.const 2)) (i32.const 0) (i32.const 1))
                (call $expect (call $gpio_write (i32.const 2) (i32.const 1)) (i32.const 0) (i32.const 2))
                (call $expect (call $gpio_read (i32.const 0)) (i32.const 1) (i32.const 3))
                (call $expect (call $input_get_buttons) (i32.const 0) (i32.const 4))
                (call $expect (call $input_poll_event (i32.const 2000)) (i32.const 0) (i32.const 5))",
            denied: "(call $expect (call $gpio_configure (i32.const 2) (i32.const 2)) (i32.const -1) (i32.const 1))
                (call $expect (call $gpio_write (i32.const 2) (i32.const 1)) (i32.const -1) (i32.const 2))
                (call $expect (call $gpio_read (i32.const 0)) (i32.const -1) (i32.const 3))
                (call $expect (call $input_get_buttons) (i32.const 0) (i32.const 4))
                (call $expect (call $input_poll_event (i32.const 2000)) (i32.const 0) (i32.const 5))",
            // The buttons read as released: each of the two reads of
            // each input call is denied and counted.
            denials: 7,
            // A pin the board profile does not map.
            bad: "(call $expect (call $gpio_write (i32.const 99) (i32.const 1)) (i32.const -19) (i32.const 1))
                (call $expect (call $gpio_read (i32.const -1)) (i32.const -19) (i32.const 2))
                (call $expect (call $gpio_configure (i32.const 99) (i32.const 2)) (i32.const -19) (i32.const 3))
                (call $expect (call $input_poll_event BAD) (i32.const -14) (i32.const 4))",
        },
        Family {
            caps: r#""hid""#,
            granted: "(call $expect (call $hid_init (i32.const 0) (i32.const 1)) (i32.const 0) (i32.const 1))
                (call $expect (call $hid_enable) (i32.const 0) (i32.const 2))
                (call $expect (call $hid_is_connected) (i32.const 1) (i32.const 3))
                (call $expect (call $hid_set_transport (i32.const 0)) (i32.const 0) (i32.const 4))
                (call $expect (call $hid_set_device_types (i32.const 1)) (i32.const 0) (i32.const 5))
                (call $expect (call $hid_type_string (i32.const 1024)) (i32.const 0) (i32.const 6))
                (call $expect (call $hid_key_release_all) (i32.const 0) (i32.const 7))
                (call $expect (call $hid_mouse_move (i32.const 3) (i32.const -3)) (i32.const 0) (i32.const 8))
                (call $expect (call $hid_mouse_scroll (i32.const 1)) (i32.const 0) (i32.const 9))
                (call $expect (call $hid_gamepad_reset) (i32.const 0) (i32.const 10))
                (call $expect (call $hid_consumer_send (i32.const 0xe9)) (i32.const 0) (i32.const 11))
                (call $expect (call $hid_send_raw_report (i32.const 1) (i32.const 1100) (i32.const 8)) (i32.const 0) (i32.const 12))
                (call $expect (call $hid_disable) (i32.const 0) (i32.const 13))
                (call $expect (call $hid_key_press (i32.const 0xe1)) (i32.const 0) (i32.const 14))
                (call $expect (call $hid_key_press (i32.const 4)) (i32.const 0) (i32.const 15))
                (call $expect (call $hid_key_press (i32.const 4)) (i32.const 0) (i32.const 16))
                (call $expect (call $hid_key_release (i32.const 4)) (i32.const 0) (i32.const 17))
                (call $expect (call $hid_key_release (i32.const 0xe1)) (i32.const 0) (i32.const 18))
                (call $expect (call $hid_mouse_btn_press (i32.const 1)) (i32.const 0) (i32.const 19))
                (call $expect (call $hid_mouse_btn_release (i32.const 1)) (i32.const 0) (i32.const 20))
                (call $expect (call $hid_gamepad_press (i32.const 3)) (i32.const 0) (i32.const 21))
                (call $expect (call $hid_gamepad_set_axis (i32.const 1) (i32.const -32768)) (i32.const 0) (i32.const 22))
                (call $expect (call $hid_gamepad_release (i32.const 1)) (i32.const 0) (i32.const 23))
                (call $expect (call $hid_set_modifiers (i32.const 2)) (i32.const 0) (i32.const 24))
                (call $expect (call $hid_gamepad_send_report (i32.const 1) (i32.const 0) (i32.const 32767) (i32.const -32768) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)) (i32.const 0) (i32.const 25))",
            denied: "(call $expect (call $hid_type_string (i32.const 1024)) (i32.const -1) (i32.const 6))
                (call $expect (call $hid_key_release_all) (i32.const -1) (i32.const 7))
                (call $expect (call $hid_mouse_move (i32.const 3) (i32.const -3)) (i32.const -1) (i32.const 8))
                (call $expect (call $hid_mouse_scroll (i32.const 1)) (i32.const -1) (i32.const 9))
                (call $expect (call $hid_gamepad_reset) (i32.const -1) (i32.const 10))
                (call $expect (call $hid_consumer_send (i32.const 0xe9)) (i32.const -1) (i32.const 11))
                (call $expect (call $hid_send_raw_report (i32.const 1) (i32.const 1100) (i32.const 8)) (i32.const -1) (i32.const 12))
                (call $expect (call $hid_key_press (i32.const 4)) (i32.const -1) (i32.const 15))
                (call $expect (call $hid_key_release (i32.const 4)) (i32.const -1) (i32.const 17))
                (call $expect (call $hid_mouse_btn_press (i32.const 1)) (i32.const -1) (i32.const 19))
                (call $expect (call $hid_mouse_btn_release (i32.const 1)) (i32.const -1) (i32.const 20))
                (call $expect (call $hid_gamepad_press (i32.const 3)) (i32.const -1) (i32.const 21))
                (call $expect (call $hid_gamepad_set_axis (i32.const 1) (i32.const 5)) (i32.const -1) (i32.const 22))
                (call $expect (call $hid_gamepad_release (i32.const 1)) (i32.const -1) (i32.const 23))
                (call $expect (call $hid_set_modifiers (i32.const 2)) (i32.const -1) (i32.const 24))
                (call $expect (call $hid_gamepad_send_report (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)) (i32.const -1) (i32.const 25))",
            // The consumer key's press and release are two calls.
            denials: 17,
            // Out-of-range keys, buttons and axes; a seventh held key.
            bad: "(call $expect (call $hid_type_string BAD) (i32.const -14) (i32.const 1))
                (call $expect (call $hid_send_raw_report (i32.const 1) BAD (i32.const 8)) (i32.const -14) (i32.const 2))
                (call $expect (call $hid_key_press (i32.const 0)) (i32.const -22) (i32.const 3))
                (call $expect (call $hid_key_press (i32.const 0x100)) (i32.const -22) (i32.const 4))
                (call $expect (call $hid_mouse_btn_press (i32.const 8)) (i32.const -22) (i32.const 5))
                (call $expect (call $hid_gamepad_press (i32.const 0x10000)) (i32.const -22) (i32.const 6))
                (call $expect (call $hid_gamepad_set_axis (i32.const 4) (i32.const 0)) (i32.const -22) (i32.const 7))
                (call $expect (call $hid_gamepad_set_axis (i32.const 0) (i32.const 40000)) (i32.const -22) (i32.const 8))
                (call $expect (call $hid_key_press (i32.const 4)) (i32.const 0) (i32.const 9))
                (call $expect (call $hid_key_press (i32.const 5)) (i32.const 0) (i32.const 10))
                (call $expect (call $hid_key_press (i32.const 6)) (i32.const 0) (i32.const 11))
                (call $expect (call $hid_key_press (i32.const 7)) (i32.const 0) (i32.const 12))
                (call $expect (call $hid_key_press (i32.const 8)) (i32.const 0) (i32.const 13))
                (call $expect (call $hid_key_press (i32.const 9)) (i32.const 0) (i32.const 14))
                (call $expect (call $hid_key_press (i32.const 10)) (i32.const -12) (i32.const 15))
                (call $expect (call $hid_set_modifiers (i32.const 0x100)) (i32.const -22) (i32.const 16))
                (call $expect (call $hid_gamepad_send_report (i32.const 0x10000) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)) (i32.const -22) (i32.const 17))",
        },
        Family {
            caps: r#""timer""#,
            granted: "(global.set $fd (call $timer_create))
                (call $expect (global.get $fd) (i32.const 0) (i32.const 1))
                (call $expect (call $timer_start (global.get $fd)) (i32.const 0) (i32.const 2))
                (drop (call $delay (i32.const 5000)))
                (call $expect (call $timer_stop (global.get $fd)) (i32.const 0) (i32.const 3))
                (call $at_least (call $timer_elapsed (global.get $fd)) (i32.const 5) (i32.const 4))
                (call $expect (call $timer_free (global.get $fd)) (i32.const 0) (i32.const 5))
                (call $expect (call $timer_create) (i32.const 0) (i32.const 6))
                (call $expect (call $timer_create) (i32.const 1) (i32.const 7))
                (call $expect (call $timer_create) (i32.const 2) (i32.const 8))
                (call $expect (call $timer_create) (i32.const 3) (i32.const 9))
                (call $expect (call $timer_create) (i32.const -12) (i32.const 10))",
            denied: "",
            denials: 0,
            // Handles that were never created, or out of range.
            bad: "(call $expect (call $timer_start (i32.const 0)) (i32.const -22) (i32.const 1))
                (call $expect (call $timer_elapsed (i32.const 7)) (i32.const -22) (i32.const 2))
                (call $expect (call $timer_stop (i32.const -1)) (i32.const -22) (i32.const 3))
                (call $expect (call $timer_free (i32.const 2)) (i32.const -22) (i32.const 4))",
        },
        Family {
            caps: r#""uart""#,
            granted: "(global.set $fd (call $uart_open (i32.const 0) (i32.const 115200)))
                (call $expect (global.get $fd) (i32.const 1) (i32.const 1))
                (call $expect (call $uart_write (global.get $fd) (i32.const 1024) (i32.const 5)) (i32.const 5) (i32.const 2))
                (call $at_least (call $uart_read (global.get $fd) (i32.const 2000) (i32.const 8)) (i32.const 0) (i32.const 3))
                (call $expect (call $uart_close (global.get $fd)) (i32.const 0) (i32.const 4))",
            denied: "(call $expect (call $uart_write (i32.const 1) (i32.const 1024) (i32.const 5)) (i32.const -1) (i32.const 2))
                (call $expect (call $uart_read (i32.const 1) (i32.const 2000) (i32.const 8)) (i32.const -1) (i32.const 3))",
            denials: 2,
            bad: "(call $expect (call $uart_open (i32.const 5) (i32.const 9600)) (i32.const -19) (i32.const 1))
                (call $expect (call $uart_write (i32.const 1) BAD (i32.const 5)) (i32.const -14) (i32.const 2))
                (call $expect (call $uart_read (i32.const 1) BAD (i32.const 5)) (i32.const -14) (i32.const 3))",
        },
        Family {
            caps: r#""i2c""#,
            granted: "(call $expect (call $i2c_read_reg (i32.const 0) (i32.const 0x48) (i32.const 0) (i32.const 2000) (i32.const 2)) (i32.const 2) (i32.const 1))
                (call $expect (i32.load8_u (i32.const 2000)) (i32.const 0x19) (i32.const 2))
                (call $expect (call $i2c_write_reg (i32.const 0) (i32.const 0x48) (i32.const 1) (i32.const 1100) (i32.const 2)) (i32.const 0) (i32.const 3))",
            denied: "(call $expect (call $i2c_read_reg (i32.const 0) (i32.const 0x48) (i32.const 0) (i32.const 2000) (i32.const 2)) (i32.const -1) (i32.const 1))
                (call $expect (call $i2c_write_reg (i32.const 0) (i32.const 0x48) (i32.const 1) (i32.const 1100) (i32.const 2)) (i32.const -1) (i32.const 3))",
            denials: 2,
            bad: "(call $expect (call $i2c_read_reg (i32.const 0) (i32.const 0x48) (i32.const 0) BAD (i32.const 2)) (i32.const -14) (i32.const 1))
                (call $expect (call $i2c_write_reg (i32.const 0) (i32.const 0x48) (i32.const 0) (i32.const 1100) (i32.const 0x7fffffff)) (i32.const -7) (i32.const 2))",
        },
        Family {
            caps: r#""pwm", "adc""#,
            granted: "(call $expect (call $pwm_set (i32.const 3) (i32.const 1000) (i32.const 50)) (i32.const 0) (i32.const 1))
                (call $expect (call $pwm_disable (i32.const 3)) (i32.const 0) (i32.const 2))
                (call $at_least (call $adc_read (i32.const 0)) (i32.const 0) (i32.const 3))
                (call $at_least (call $adc_read_mv (i32.const 0)) (i32.const 0) (i32.const 4))",
            denied: "(call $expect (call $pwm_set (i32.const 3) (i32.const 1000) (i32.const 50)) (i32.const -1) (i32.const 1))
                (call $expect (call $pwm_disable (i32.const 3)) (i32.const -1) (i32.const 2))
                (call $expect (call $adc_read (i32.const 0)) (i32.const -1) (i32.const 3))
                (call $expect (call $adc_read_mv (i32.const 0)) (i32.const -1) (i32.const 4))",
            denials: 4,
            bad: "(call $expect (call $pwm_set (i32.const 3) (i32.const 1000) (i32.const 101)) (i32.const -22) (i32.const 1))
                (call $expect (call $pwm_set (i32.const 3) (i32.const 1000) (i32.const -1)) (i32.const -22) (i32.const 2))",
        },
        Family {
            // Digests, random bytes and the uptime need no AkiraOS grant
            // in Akira: nothing to deny.
            caps: r#""crypto", "rtc.read""#,
            granted: "(call $expect (call $crypto_sha256 (i32.const 1024) (i32.const 5) (i32.const 2000)) (i32.const 0) (i32.const 1))
                (call $expect (i32.load (i32.const 2000)) (i32.const 0xba4df22c) (i32.const 2))
                (call $expect (call $crypto_hmac_sha256 (i32.const 1056) (i32.const 8) (i32.const 1024) (i32.const 5) (i32.const 2100)) (i32.const 0) (i32.const 3))
                (call $expect (call $crypto_random (i32.const 2200) (i32.const 16)) (i32.const 0) (i32.const 4))
                (call $at_least (call $rtc_get_uptime_ms) (i32.const 0) (i32.const 5))",
            denied: "",
            denials: 0,
            bad: "(call $expect (call $crypto_sha256 BAD (i32.const 5) (i32.const 2000)) (i32.const -14) (i32.const 1))
                (call $expect (call $crypto_sha256 (i32.const 1024) (i32.const 5) BAD) (i32.const -14) (i32.const 2))
                (call $expect (call $crypto_hmac_sha256 (i32.const 1056) (i32.const 8) BAD (i32.const 5) (i32.const 2100)) (i32.const -14) (i32.const 3))
                (call $expect (call $crypto_random (i32.const 2200) (i32.const 5000)) (i32.const -7) (i32.const 4))
                (call $expect (call $crypto_random BAD (i32.const 16)) (i32.const -14) (i32.const 5))",
        },
        Family {
            caps: r#""sensor.read""#,
            // The simulator at 25 °C (`run`): the profile maps Zephyr's
            // ambient temperature, humidity, pressure and acceleration.
            granted: "(call $expect (call $sensor_read (i32.const 13)) (i32.const 25000) (i32.const 1))
                (call $expect (call $sensor_read (i32.const 16)) (i32.const 45000) (i32.const 2))
                (call $expect (call $sensor_read (i32.const 14)) (i32.const 101325) (i32.const 3))
                (call $expect (call $sensor_read (i32.const 2)) (i32.const 9807) (i32.const 4))
                (call $expect (call $sensor_read (i32.const 0)) (i32.const 0) (i32.const 5))",
            denied: "(call $expect (call $sensor_read (i32.const 13)) (i32.const -2147483648) (i32.const 1))",
            denials: 1,
            // Channels the profile does not map.
            bad: "(call $expect (call $sensor_read (i32.const 23)) (i32.const -2147483648) (i32.const 1))
                (call $expect (call $sensor_read (i32.const -1)) (i32.const -2147483648) (i32.const 2))",
        },
        Family {
            caps: r#""rf.transceive""#,
            // The simulator's profile: EU868 up to 14 dBm. No packet was
            // received, so there is no RSSI yet.
            granted: "(call $expect (call $rf_set_frequency (i32.const 869525000)) (i32.const 0) (i32.const 1))
                (call $expect (call $rf_set_power (i32.const 10)) (i32.const 0) (i32.const 2))
                (call $expect (call $rf_send (i32.const 1024) (i32.const 5)) (i32.const 0) (i32.const 3))
                (call $expect (call $rf_get_rssi (i32.const 2000)) (i32.const -61) (i32.const 4))",
            denied: "(call $expect (call $rf_set_frequency (i32.const 869525000)) (i32.const -1) (i32.const 1))
                (call $expect (call $rf_set_power (i32.const 10)) (i32.const -1) (i32.const 2))
                (call $expect (call $rf_send (i32.const 1024) (i32.const 5)) (i32.const -1) (i32.const 3))
                (call $expect (call $rf_get_rssi (i32.const 2000)) (i32.const -61) (i32.const 4))",
            // The last packet's RSSI is the app's own (never received
            // without the grant): no denial.
            denials: 3,
            // Outside the band or above the power (denied, and not kept:
            // a send after them still goes out), bad pointers.
            bad: "(call $expect (call $rf_set_frequency (i32.const 915000000)) (i32.const -1) (i32.const 1))
                (call $expect (call $rf_set_power (i32.const 20)) (i32.const -1) (i32.const 2))
                (call $expect (call $rf_send (i32.const 1024) (i32.const 5)) (i32.const 0) (i32.const 3))
                (call $expect (call $rf_send BAD (i32.const 5)) (i32.const -14) (i32.const 4))
                (call $expect (call $rf_get_rssi BAD) (i32.const -14) (i32.const 5))",
        },
        Family {
            caps: r#""storage.*", "settings.*""#,
            granted: "(global.set $fd (call $storage_open (i32.const 1040) (i32.const 1)))
                (call $at_least (global.get $fd) (i32.const 3) (i32.const 1))
                (call $expect (call $storage_write (global.get $fd) (i32.const 1024) (i32.const 5)) (i32.const 5) (i32.const 2))
                (call $storage_close (global.get $fd))
                (call $expect (call $storage_list (i32.const 1029) (i32.const 2100) (i32.const 64)) (i32.const 7) (i32.const 15))
                (call $expect (i32.load (i32.const 2100)) (i32.const 0x78742e66) (i32.const 16))
                (call $expect (i32.load16_u (i32.const 2104)) (i32.const 0x0a74) (i32.const 17))
                (call $expect (i32.load8_u (i32.const 2106)) (i32.const 0) (i32.const 18))
                (call $expect (call $storage_list (i32.const 1029) (i32.const 2100) (i32.const 6)) (i32.const 1) (i32.const 19))
                (global.set $fd (call $storage_open (i32.const 1040) (i32.const 0)))
                (call $expect (call $storage_read (global.get $fd) (i32.const 2000) (i32.const 16)) (i32.const 5) (i32.const 3))
                (call $expect (i32.load8_u (i32.const 2004)) (i32.const 111) (i32.const 4))
                (call $storage_close (global.get $fd))
                (call $expect (call $storage_delete (i32.const 1040)) (i32.const 0) (i32.const 5))
                (call $expect (call $storage_open (i32.const 1072) (i32.const 0)) (i32.const -2) (i32.const 6))
                (call $expect (call $settings_set (i32.const 1056) (i32.const 1024)) (i32.const 0) (i32.const 7))
                (call $expect (call $settings_get (i32.const 1056) (i32.const 2000) (i32.const 16)) (i32.const 0) (i32.const 8))
                (call $expect (i32.load (i32.const 2000)) (i32.const 0x6c6c6568) (i32.const 9))
                (call $expect (i32.load16_u (i32.const 2004)) (i32.const 0x006f) (i32.const 10))
                (call $expect (call $settings_get (i32.const 1056) (i32.const 2000) (i32.const 3)) (i32.const 0) (i32.const 11))
                (call $expect (i32.load8_u (i32.const 2002)) (i32.const 0) (i32.const 12))
                (call $expect (call $settings_delete (i32.const 1056)) (i32.const 0) (i32.const 13))
                (call $expect (call $settings_get (i32.const 1056) (i32.const 2000) (i32.const 16)) (i32.const -2) (i32.const 14))
                (global.set $fd (call $storage_open (i32.const 1040) (i32.const 1)))
                (call $expect (call $fs_write (global.get $fd) (i32.const 1024) (i32.const 5)) (i32.const 5) (i32.const 20))
                (call $storage_close (global.get $fd))
                (global.set $fd (call $storage_open (i32.const 1040) (i32.const 0)))
                (call $expect (call $fs_read (global.get $fd) (i32.const 2000) (i32.const 16)) (i32.const 5) (i32.const 21))
                (call $storage_close (global.get $fd))
                (call $expect (call $fs_readdir (i32.const 1029) (i32.const 2100) (i32.const 64)) (i32.const 7) (i32.const 22))
                (call $expect (call $fs_unlink (i32.const 1040)) (i32.const 0) (i32.const 23))
                (global.set $fd (call $fs_open (i32.const 1040) (i32.const 9)))
                (call $at_least (global.get $fd) (i32.const 3) (i32.const 24))
                (call $expect (call $fs_write (global.get $fd) (i32.const 1024) (i32.const 5)) (i32.const 5) (i32.const 25))
                (call $expect (call $fs_tell (global.get $fd)) (i32.const 5) (i32.const 26))
                (call $expect (call $fs_seek (global.get $fd) (i32.const 1) (i32.const 0)) (i32.const 1) (i32.const 27))
                (call $expect (call $fs_close (global.get $fd)) (i32.const 0) (i32.const 28))
                (global.set $fd (call $fs_open (i32.const 1040) (i32.const 0)))
                (call $expect (call $fs_seek (global.get $fd) (i32.const -2) (i32.const 2)) (i32.const 3) (i32.const 29))
                (call $expect (call $fs_read (global.get $fd) (i32.const 2000) (i32.const 16)) (i32.const 2) (i32.const 30))
                (call $expect (i32.load16_u (i32.const 2000)) (i32.const 0x6f6c) (i32.const 31))
                (call $expect (call $fs_close (global.get $fd)) (i32.const 0) (i32.const 32))
                (call $expect (call $fs_open (i32.const 1072) (i32.const 0)) (i32.const -2) (i32.const 33))
                (call $expect (call $fs_open (i32.const 1072) (i32.const 1)) (i32.const -2) (i32.const 34))",
            // Without `storage.*` the app's store has no quota and WASI no
            // `files` part: opening is denied, nothing is open, and the
            // store can be read (it is empty) but not written.
            denied: "(call $expect (call $storage_open (i32.const 1040) (i32.const 1)) (i32.const -1) (i32.const 1))
                (call $expect (call $storage_write (i32.const 3) (i32.const 1024) (i32.const 5)) (i32.const -9) (i32.const 2))
                (call $expect (call $storage_read (i32.const 3) (i32.const 2000) (i32.const 16)) (i32.const -9) (i32.const 3))
                (call $storage_close (i32.const 3))
                (call $expect (call $storage_delete (i32.const 1040)) (i32.const -1) (i32.const 5))
                (call $expect (call $storage_list (i32.const 1029) (i32.const 2100) (i32.const 64)) (i32.const -1) (i32.const 6))
                (call $expect (call $fs_write (i32.const 3) (i32.const 1024) (i32.const 5)) (i32.const -9) (i32.const 20))
                (call $expect (call $fs_read (i32.const 3) (i32.const 2000) (i32.const 16)) (i32.const -9) (i32.const 21))
                (call $expect (call $fs_readdir (i32.const 1029) (i32.const 2100) (i32.const 64)) (i32.const -1) (i32.const 22))
                (call $expect (call $fs_unlink (i32.const 1040)) (i32.const -1) (i32.const 23))
                (call $expect (call $fs_open (i32.const 1040) (i32.const 9)) (i32.const -1) (i32.const 24))
                (call $expect (call $fs_tell (i32.const 9)) (i32.const -1) (i32.const 26))
                (call $expect (call $fs_seek (i32.const 9) (i32.const 0) (i32.const 0)) (i32.const -1) (i32.const 27))
                (call $expect (call $fs_close (i32.const 9)) (i32.const -1) (i32.const 28))
                (call $expect (call $settings_set (i32.const 1056) (i32.const 1024)) (i32.const -28) (i32.const 7))
                (call $expect (call $settings_get (i32.const 1056) (i32.const 2000) (i32.const 16)) (i32.const -2) (i32.const 8))
                (call $expect (call $settings_delete (i32.const 1056)) (i32.const -2) (i32.const 13))",
            // Without the `files` part `fs_tell`, `fs_seek` and `fs_close`
            // are denied too (the reads and writes above name descriptor
            // 3, the directory: -EBADF comes first).
            denials: 9,
            bad: "(call $expect (call $storage_open BAD (i32.const 1)) (i32.const -14) (i32.const 1))
                (call $expect (call $fs_unlink BAD) (i32.const -14) (i32.const 13))
                (call $expect (call $fs_readdir BAD (i32.const 2100) (i32.const 8)) (i32.const -14) (i32.const 14))
                (call $expect (call $fs_open BAD (i32.const 0)) (i32.const -14) (i32.const 15))
                (global.set $fd (call $fs_open (i32.const 1040) (i32.const 9)))
                (call $expect (call $fs_seek (global.get $fd) (i32.const -100) (i32.const 0)) (i32.const -22) (i32.const 16))
                (call $expect (call $fs_seek (global.get $fd) (i32.const 0) (i32.const 7)) (i32.const -22) (i32.const 17))
                (call $expect (call $fs_tell (i32.const 77)) (i32.const -9) (i32.const 18))
                (drop (call $fs_close (global.get $fd)))
                (call $expect (call $storage_list BAD (i32.const 2100) (i32.const 8)) (i32.const -14) (i32.const 9))
                (call $expect (call $storage_list (i32.const 1029) BAD (i32.const 8)) (i32.const -14) (i32.const 10))
                (call $expect (call $storage_list (i32.const 1029) (i32.const 2100) (i32.const 0)) (i32.const -22) (i32.const 11))
                (call $expect (call $storage_list (i32.const 1040) (i32.const 2100) (i32.const 8)) (i32.const -2) (i32.const 12))
                (global.set $fd (call $storage_open (i32.const 1040) (i32.const 3)))
                (call $expect (call $storage_write (global.get $fd) BAD (i32.const 5)) (i32.const -14) (i32.const 2))
                (call $expect (call $storage_write (global.get $fd) (i32.const 2000) (i32.const 0x7fffffff)) (i32.const -28) (i32.const 3))
                (call $storage_close (global.get $fd))
                (call $expect (call $storage_read (i32.const 77) (i32.const 2000) (i32.const 4)) (i32.const -9) (i32.const 4))
                (call $expect (call $settings_set BAD (i32.const 1024)) (i32.const -14) (i32.const 5))
                (call $expect (call $settings_get (i32.const 1056) (i32.const 2000) (i32.const 0)) (i32.const -22) (i32.const 6))
                (call $expect (call $settings_get (i32.const 1056) BAD (i32.const 8)) (i32.const -14) (i32.const 7))
                (call $expect (call $storage_delete BAD) (i32.const -14) (i32.const 8))",
        },
    ]
}
