;; Unbounded recursion: the call-depth bound (natively) and wasmi's stack
;; limit both report a stack overflow.
(module
    (memory (export "memory") 4096 4096 (pagesize 1))
    (func $down (param i32) (result i32)
        (i32.add (call $down (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
    (func (export "akira_main") (result i32) (call $down (i32.const 0))))
