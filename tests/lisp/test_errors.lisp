; test_errors.lisp - wrong arguments give catchable LispE errors naming the
; primitive; nothing crashes and nothing leaks
(use 'lispe_torch)

(setq lt_failures 0)
(setq lt_checks 0)

(defun lt_check (what ok)
   (setg lt_checks (+ lt_checks 1))
   (if (not ok)
      (block
         (setg lt_failures (+ lt_failures 1))
         (println "FAIL:" what))))

(defun lt_contains (s sub) (not (nullp (find s sub))))

; e: the value of (catch ...); the error must name `name`
(defun lt_error_names (what e name)
   (lt_check (+ what ": an error") (maybe e))
   (if (maybe e)
      (lt_check (+ what ": the message names " name) (lt_contains (string e) name))))

(setq base (tensor_in_memory))

; ---- every primitive with required parameters, given strings ----
(setq table '(
   ("tensor_create" 1) ("torch_tensor" 1) ("tensor_zeros" 1) ("torch_zeros" 1) ("tensor_ones" 1)
   ("torch_ones" 1) ("tensor_full" 2) ("tensor_full_like" 2) ("tensor_randn" 1) ("torch_randn" 1)
   ("tensor_rand" 1) ("torch_rand" 1) ("tensor_randint" 3) ("tensor_arange" 2) ("tensor_to_list" 1)
   ("torch_to_lispe" 1) ("tensor_item" 1) ("tensor_clone" 1) ("tensor_detach" 1)
   ("tensor_to_dtype" 2) ("tensor_dtype" 1) ("torch_dtype" 1) ("tensor_device" 1)
   ("torch_device" 1) ("tensor_requires_grad" 1) ("tensor_grad" 1) ("tensor_shape" 1)
   ("torch_shape" 1) ("torch_size" 1) ("tensor_size" 1) ("torch_numel" 1) ("torch_manual_seed" 1)
   ("tensor_add" 2) ("torch_add" 2) ("tensor_sub" 2) ("torch_sub" 2) ("tensor_mul" 2)
   ("torch_mul" 2) ("tensor_div" 2) ("tensor_add_scalar" 2) ("tensor_mul_scalar" 2)
   ("tensor_div_scalar" 2) ("tensor_matmul" 2) ("torch_matmul" 2) ("tensor_linear" 2)
   ("tensor_einsum" 2) ("tensor_pow" 2) ("tensor_clamp" 1) ("tensor_rms_norm" 2) ("tensor_abs" 1)
   ("tensor_acos" 1) ("tensor_asin" 1) ("tensor_atan" 1) ("tensor_ceil" 1) ("tensor_cos" 1)
   ("tensor_cosh" 1) ("tensor_exp" 1) ("tensor_floor" 1) ("tensor_log" 1) ("tensor_log10" 1)
   ("tensor_log2" 1) ("tensor_neg" 1) ("tensor_reciprocal" 1) ("tensor_round" 1) ("tensor_rsqrt" 1)
   ("tensor_sin" 1) ("tensor_sinh" 1) ("tensor_sqrt" 1) ("tensor_tan" 1) ("tensor_relu" 1)
   ("torch_relu" 1) ("tensor_sigmoid" 1) ("tensor_tanh" 1) ("tensor_gelu" 1) ("tensor_silu" 1)
   ("tensor_softmax" 1) ("tensor_log_softmax" 1) ("tensor_reshape" 2) ("torch_reshape" 2)
   ("tensor_transpose" 3) ("torch_transpose" 3) ("tensor_contiguous" 1) ("tensor_unsqueeze" 2)
   ("tensor_squeeze" 1) ("tensor_flatten" 1) ("tensor_expand" 2) ("tensor_slice" 4)
   ("torch_tensor_slice" 3) ("tensor_select" 3) ("tensor_cat" 1) ("tensor_stack" 1)
   ("tensor_triu" 1) ("tensor_tril" 1) ("tensor_gather" 3) ("tensor_cumsum" 2)
   ("tensor_masked_fill_" 3) ("tensor_masked_fill" 3) ("tensor_set_item" 3) ("tensor_sum" 1)
   ("tensor_mean" 1) ("tensor_mean_dim" 2) ("tensor_std" 1) ("tensor_max" 1) ("tensor_min" 1)
   ("tensor_argmax" 1) ("tensor_argmin" 1) ("tensor_norm" 1) ("torch_norm" 1)
   ("tensor_multinomial" 2) ("torch_multinomial" 2) ("torch_topk" 2) ("torch_sort" 1)
   ("torch_set_device" 1) ("torch_to_device" 2) ("torch_to_cuda" 1) ("torch_to_mps" 1)
   ("torch_to_cpu" 1) ("torch_on_mps" 1) ("torch_set_num_threads" 1)))

(defun sweep ()
   (loop row table
      (setq name (@ row 0))
      (setq args "")
      (loopcount (@ row 1) i (setq args (+ args " \"x\"")))
      (setq e (catch (eval (+ "(" name args ")"))))
      (lt_error_names name e name)))
(sweep)
(lt_check "sweep covered the table" (>= (size table) 100))
(lt_check "sweep freed everything" (= (tensor_in_memory) base))

; ---- particular errors ----
(defun particular ()
   (setq t (tensor_create (floats 1 2 3 4)))
   (lt_error_names "wrong type" (catch (tensor_add "a" t)) "tensor_add")
   (lt_error_names "argument number in message" (catch (tensor_add "a" t)) "argument 1")
   (lt_error_names "second argument" (catch (tensor_matmul t "b")) "argument 2")
   (lt_error_names "two numbers" (catch (tensor_add 1 2)) "tensor_add")
   (lt_error_names "alias names itself" (catch (torch_add "a" t)) "torch_add")
   (lt_error_names "bad reshape" (catch (tensor_reshape t (integers 3 3))) "tensor_reshape")
   (lt_error_names "bad dtype" (catch (tensor_zeros (integers 2) "float33")) "tensor_zeros")
   (lt_error_names "bad dtype text" (catch (tensor_zeros (integers 2) "float33")) "float33")
   (lt_error_names "bad device" (catch (tensor_zeros (integers 2) nil "tpu")) "tensor_zeros")
   (lt_error_names "bad shape" (catch (tensor_ones (strings "a" "b"))) "tensor_ones")
   (lt_error_names "negative size" (catch (tensor_ones (integers -2))) "tensor_ones")
   (lt_error_names "broadcast mismatch" (catch (tensor_add t (tensor_create (floats 1 2)))) "tensor_add")
   (lt_error_names "matmul mismatch" (catch (tensor_matmul t (tensor_ones (integers 3 3)))) "tensor_matmul")
   (lt_error_names "select out of range" (catch (tensor_select t 0 9)) "tensor_select")
   (lt_error_names "softmax dim" (catch (tensor_softmax t 3)) "tensor_softmax")
   (lt_error_names "item of many" (catch (tensor_item t)) "tensor_item")
   (lt_error_names "ragged nested list" (catch (tensor_create (list (list 1 2) (list 3)))) "tensor_create")
   (lt_error_names "strings in data" (catch (tensor_create (list "a" "b"))) "tensor_create")
   (lt_error_names "dictionary as a tensor" (catch (tensor_abs (dictionary "a" 1))) "tensor_abs")
   (lt_error_names "function as a tensor" (catch (tensor_abs (lambda (x) x))) "tensor_abs")
   (lt_error_names "error value as an argument" (catch (tensor_abs (catch (tensor_abs 1)))) "tensor_abs")
   (lt_error_names "einsum equation" (catch (tensor_einsum "ij,jk->ikq" (list t t))) "tensor_einsum")
   (lt_error_names "empty tensor list" (catch (tensor_cat (list))) "tensor_cat")
   (lt_error_names "at out of range" (catch (at t 4)) "at")
   (lt_error_names "at negative out of range" (catch (at t -5)) "at")
   (lt_check "at too many indices" (maybe (catch (at t 0 0))))
   (lt_error_names "number as index" (catch (at t 1.5)) "at")
   ; arity is LispE's own check
   (lt_check "arity error is catchable" (maybe (catch (eval "(tensor_add 1)"))))
   ; maybe with a fallback
   (lt_check "maybe fallback" (eq (maybe (tensor_add "a" 1) "fallback") "fallback"))
   ; the interpreter goes on after errors
   (lt_check "works after errors" (= (tensor_item (tensor_sum t)) 10)))
(particular)
(lt_check "particular errors freed everything" (= (tensor_in_memory) base))

; ---- many errors in a loop: no leak, no crash ----
(defun many ()
   (setq t (tensor_ones (integers 2 2)))
   (setq count 0)
   (loopcount 1000 i
      (if (maybe (catch (tensor_matmul t (tensor_ones (integers 3)))))
         (setq count (+ count 1))))
   (lt_check "1000 errors caught" (= count 1000)))
(many)
(lt_check "error loop freed everything" (= (tensor_in_memory) base))

(if (= lt_failures 0)
   (println "ALL PASSED" lt_checks "checks")
   (println lt_failures "of" lt_checks "checks failed"))
