;; 4 000 000 iterations without a wait (many time slices); exits with the
;; low 15 bits of the sum of 0..4 000 000.
(module
    (memory (export "memory") 4096 4096 (pagesize 1))
    (func (export "akira_main") (result i32)
        (local $i i32) (local $sum i32)
        (loop $l
            (local.set $sum (i32.add (local.get $sum) (local.get $i)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $l (i32.lt_u (local.get $i) (i32.const 4000000))))
        (i32.and (local.get $sum) (i32.const 0x7fff))))
