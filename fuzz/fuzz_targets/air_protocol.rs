//! The `akira air` protocol on the hub's side: arbitrary bytes cut into
//! frames (a little-endian `u16` length, then the frame), each decoded as
//! a device's message and answered as the hub answers it, and decoded as
//! a hub's message as a device decodes it (see `akira_sim::air::fuzz_frames`).
//! Besides not panicking: replies and decoded messages encode again.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| akira_sim::air::fuzz_frames(data));
