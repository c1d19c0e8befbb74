/*
 * akira.h: the Akira app ABI, version 1, for C and C++ apps.
 *
 * Generated from the akira-abi crate by `cargo run -p akira-abi`: do not
 * edit. Every function of docs/abi.md (generated from the same
 * definition), imported from its bridge module with the signature the
 * firmware links.
 * An app imports only the modules its Akira.toml grants; importing one it
 * was not granted is refused at install, named.
 *
 * Build an app for wasm32 with clang and lld:
 *
 *   clang --target=wasm32 -nostdlib -O2 -I include \
 *         -Wl,--no-entry -Wl,--export=akira_main -Wl,--allow-undefined \
 *         -Wl,-zstack-size=4096 -o app.wasm app.c
 *   akira run app.wasm --manifest Akira.toml
 *
 * Conventions (docs/abi.md): every call returns a value >= 0 on success or
 * a negative AKIRA_E* code; buffers are (pointer, length) pairs into the
 * app's memory, checked by the firmware; times are int64_t microseconds;
 * calls that wait suspend only this app.
 *
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */
#ifndef AKIRA_H
#define AKIRA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Declaring imports and the entry point ---------------------------- */

/* A function imported from bridge module `module` under `name`. */
#define AKIRA_IMPORT(module, name) __attribute__((import_module(module), import_name(name)))

/* Exports a function under `name`: the runtime calls the app's
 * `AKIRA_EXPORT("akira_main") int32_t akira_main(void)` once; its return
 * value is the app's exit code. */
#define AKIRA_EXPORT(name) __attribute__((export_name(name), visibility("default")))

