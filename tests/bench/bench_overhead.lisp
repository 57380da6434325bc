; bench_overhead.lisp - per-call cost of small ops from LispE (the adapter on
; top of the primitive table). Prints "lispe <op> <ns/call>" lines that
; tests/bench/run_bench.sh puts beside the C++ floor, the table and Python.
;     LISPEPATH=<build dir> lispe tests/bench/bench_overhead.lisp
(use 'lispe_torch)

(setq n 200000)

; (elapse body) evaluates body and returns the milliseconds it took
(defun per_call (ms) (/ (* ms 1000000.0) n))
; each figure is the best of 5 rounds of n calls, as the C++ floor: load only
; adds time. (Written out per op: a function handed a different lambda on its
; second call ran the first one again.)

(setq one (tensor_full (integers 1) 1.5))
(setq m (tensor_div (tensor_reshape (tensor_arange 0 16 1 "float32") (integers 4 4)) 16))

; warm up
(loopcount 20000 i (tensor_add one one))
(loopcount 20000 i (tensor_matmul m m))
(loopcount 20000 i (tensor_create (floats 0 0.0625 0.125 0.1875 0.25 0.3125 0.375 0.4375 0.5 0.5625 0.625 0.6875 0.75 0.8125 0.875 0.9375)))

; the loop alone, for reference
(setq t_loop 1e300)
(loopcount 5 r (setq t_loop (min t_loop (elapse (loopcount n i i)))))
(setq t_add 1e300)
(loopcount 5 r (setq t_add (min t_add (elapse (loopcount n i (tensor_add one one))))))
(setq t_matmul 1e300)
(loopcount 5 r (setq t_matmul (min t_matmul (elapse (loopcount n i (tensor_matmul m m))))))
(setq t_create 1e300)
(loopcount 5 r (setq t_create (min t_create (elapse (loopcount n i (tensor_create (floats 0 0.0625 0.125 0.1875 0.25 0.3125 0.375 0.4375 0.5 0.5625 0.625 0.6875 0.75 0.8125 0.875 0.9375)))))))
; LispE's + on tensors goes through the same tensor_add
(setq t_plus 1e300)
(loopcount 5 r (setq t_plus (min t_plus (elapse (loopcount n i (+ one one))))))
; a list held by a variable (copied, as the C floor's from_blob().clone())
(setq data (floats 0 0.0625 0.125 0.1875 0.25 0.3125 0.375 0.4375 0.5 0.5625 0.625 0.6875 0.75 0.8125 0.875 0.9375))
(setq t_copy 1e300)
(loopcount 5 r (setq t_copy (min t_copy (elapse (loopcount n i (tensor_create data))))))

(println "lispe loop_only" (integer (per_call t_loop)))
(println "lispe add_1elem" (integer (per_call t_add)))
(println "lispe matmul_4x4" (integer (per_call t_matmul)))
(println "lispe create_16" (integer (per_call t_create)))
(println "lispe plus_1elem" (integer (per_call t_plus)))
(println "lispe create_16_copy" (integer (per_call t_copy)))
