; bench_training.lisp - training steps per second from LispE (run_training_bench.sh)
(use 'lispe_torch)

(setq steps 200)
(setq threads 0)
(if (getenv "LT_BENCH_STEPS") (setq steps (integer (getenv "LT_BENCH_STEPS"))))
(if (getenv "LT_BENCH_THREADS") (setq threads (integer (getenv "LT_BENCH_THREADS"))))
(if (> threads 0) (torch_set_num_threads threads))
(torch_manual_seed 0)

(defun train_step (model opt x y ce)
    (torch_optimizer_zero_grad opt)
    ; nested, as the Python and C++ peers: (setq out ...) here would keep this
    ; step's outputs, and so its autograd graph, alive into the next step
    ; (measured: 1.5% more instructions a step, from the allocator)
    (torch_backward
       (if ce
          (torch_cross_entropy (torch_forward model x) y)
          (torch_mse_loss (torch_forward model x) y)))
    (torch_optimizer_step opt))

; (elapse body) returns the milliseconds body took; 3 warm-up steps, then n
; steps in 10 rounds, the best round's rate (as every runner)
(defun rate (model x y ce n)
    (setq opt (torch_optimizer model 0.001 "adam"))
    (loopcount 3 (train_step model opt x y ce))
    (setq per (max 1 (integer (/ n 10))))
    (setq best 0)
    (loopcount 10
       (setq best (max best (/ (* per 1000.0) (elapse (loopcount per (train_step model opt x y ce)))))))
    best)

(setq mlp (torch_model 784 256 10))
(setq x (tensor_randn (integers 64 784)))
(setq y (tensor_randint 0 10 (integers 64)))
; LT_BENCH_ONLY=mlp|block: that model alone (count_instructions.sh)
(setq only (getenv "LT_BENCH_ONLY"))
(if (nullp only) (setq only ""))
(if (or (= only "") (= only "mlp")) (println "lispe mlp" (rate mlp x y true steps)))
(setq encoder (torch_transformer_block 128 4 512))
(setq xb (tensor_randn (integers 8 64 128)))
(setq yb (tensor_randn (integers 8 64 128)))
(if (or (= only "") (= only "block")) (println "lispe block" (rate encoder xb yb false (integer (/ steps 4)))))
