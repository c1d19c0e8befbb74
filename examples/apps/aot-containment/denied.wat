;; A call the guard refuses (pin 7 is not granted): -1, and the app exits
;; with it.
(module
    (import "akira:gpio" "write" (func $write (param i32 i32) (result i32)))
    (memory (export "memory") 4096 4096 (pagesize 1))
    (func (export "akira_main") (result i32) (call $write (i32.const 7) (i32.const 1))))
