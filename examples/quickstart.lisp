; quickstart.lisp - a tour of lispe_torch from LispE
;
; Run with the library on LispE's path:
;     LISPEPATH=<dir of liblispe_torch.so> lispe examples/quickstart.lisp
(use 'lispe_torch)

; ---- tensors from LispE lists ----
; floats -> float32, numbers -> float64, integers -> int64, shorts -> int16
(setq x (tensor_create (floats 1 2 3 4 5 6)))
(println "x =" x)
(println "dtype:" (tensor_dtype x) "shape:" (tensor_shape x) "elements:" (size x))

; nested lists give N-d tensors
(setq m (tensor_create (list (list 1.0 2.0) (list 3.0 4.0))))
(println "m =" m)

; constructors
(println "zeros:" (tensor_zeros (integers 2 3)))
(println "arange:" (tensor_arange 0 5))
(torch_manual_seed 0)
(println "randn:" (tensor_randn (integers 3)))

; ---- math ----
(setq y (tensor_reshape x (integers 2 3)))
(println "y =" y)
(println "y . yT =" (tensor_matmul y (tensor_transpose y 0 1)))
(println "softmax:" (tensor_softmax (tensor_create (floats 1 2 3))))
(println "relu:" (tensor_relu (tensor_create (floats -1 0.5 2))))

; LispE's own operators work on tensors, with numbers on either side
(println "x * 2 + 1 =" (+ (* x 2) 1))
(println "10 - x =" (- 10 x))

; reductions stay (differentiable) tensors, and read as numbers
(setq total (tensor_sum x))
(println "sum:" total "item:" (tensor_item total))
(if (> total 20) (println "the sum is larger than 20"))

; indexing with LispE's at
(println "y[1][2] =" (at y 1 2) " y[-1] =" (at y -1))

; back to LispE values
(println "as a LispE list:" (tensor_to_list y))

; ---- autograd ----
(setq w (tensor_requires_grad (tensor_ones (integers 3)) true))
(setq loss (tensor_sum (tensor_mul w w)))
(println "loss:" loss)

; ---- devices ----
(println "best device:" (torch_get_best_device))
(println "cuda:" (torch_cuda_is_available) " mps:" (torch_mps_is_available))
(setq on_best (torch_to_device x (torch_get_best_device)))
(println "x on" (tensor_device on_best))
(println "runtime:" (torch_info))

; ---- zero copy ----
; A numeric list built for the call gives its memory to the tensor (no copy);
; a list held by a variable is copied and stays as it was.
(setq before (tensor_in_memory))
(defun big () (tensor_create (floats (range 0 100000 1))))
(setq b (big))
(println "tensor from a temporary list:" (tensor_size b) "elements")
(setq kept (floats 1 2 3))
(setq c (tensor_create kept))
(println "list still there:" kept)
(setq b nil)
(setq c nil)
(println "live tensors back to" (tensor_in_memory) "from" before)

; ---- errors are LispE errors ----
(setq e (catch (tensor_matmul x (tensor_ones (integers 4 4)))))
(println "caught, as a maybe value:" (maybe e))
(println "with a fallback:" (maybe (tensor_add "not a tensor" 1) 'fallback))

(println "example done")
