;; A runaway loop: only the app's CPU budget stops it.
(module
    (memory (export "memory") 4096 4096 (pagesize 1))
    (func (export "akira_main") (loop $l (br $l))))
