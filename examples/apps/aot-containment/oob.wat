;; A load past the last byte of its 4 096-byte memory.
(module
    (memory (export "memory") 4096 4096 (pagesize 1))
    (func (export "akira_main") (result i32) (i32.load (i32.const 4094))))
