; test_attention.lisp - section 7: the memory-efficient attention equals
; scaled dot-product attention (outputs and gradients), with causal and
; padding masks; the flash attention module; errors name the primitive.
(use 'lispe_torch)
(load (+ _current "lib/check.lisp"))

(defun lt_equal (what a b)
   (setq d (lt_maxdiff a b))
   (lt_check (+ what " (max diff " (string d) ")") (< d 1e-5)))

(torch_manual_seed 7)
(setq base (tensor_in_memory))

; ---- flash vs sdpa: no mask, causal, an int mask, a key padding mask ----
(defun outputs ()
   (setq q (tensor_randn (integers 2 3 17 8)))
   (setq k (tensor_randn (integers 2 3 23 8)))
   (setq v (tensor_randn (integers 2 3 23 8)))
   (lt_equal "no mask" (torch_flash_attention q k v) (torch_scaled_dot_product_attention q k v))
   (lt_equal "scale 0.5" (torch_flash_attention q k v 0.5) (torch_scaled_dot_product_attention q k v nil 0 nil 0.5))
   (lt_equal "causal" (torch_flash_attention q k v nil true) (torch_scaled_dot_product_attention q k v nil 0 true))
   ; the causal triangle aligned to the last key, as an int mask [Lq Lk]
   (setq tri (tensor_tril (tensor_ones (integers 17 23) "int64") 6))
   (lt_equal "int mask = causal"
      (torch_flash_attention_masked q k v 0.35355339 tri)
      (torch_scaled_dot_product_attention q k v nil 0 true))
   ; key padding [B Lk]: batch 1 ignores its last 5 keys
   (setq pad (tensor_ones (integers 2 23) "bool"))
   (loopcount 5 j (tensor_set_item pad (integers 1 (+ 18 j)) 0))
   (lt_equal "key padding"
      (torch_flash_attention_masked q k v 0.35355339 pad)
      (torch_scaled_dot_product_attention q k v pad))
   (setq cut (torch_scaled_dot_product_attention (tensor_slice q 0 1 2)
                (tensor_slice (tensor_slice k 0 1 2) 2 0 18) (tensor_slice (tensor_slice v 0 1 2) 2 0 18)))
   (lt_equal "padding = shorter keys" (tensor_slice (torch_flash_attention_masked q k v 0.35355339 pad) 0 1 2) cut)
   ; 3-d [B*H L D]
   (setq q3 (tensor_reshape q (integers 6 17 8)))
   (setq k3 (tensor_reshape k (integers 6 23 8)))
   (setq v3 (tensor_reshape v (integers 6 23 8)))
   (lt_equal "3-d" (torch_flash_attention q3 k3 v3) (tensor_reshape (torch_scaled_dot_product_attention q k v) (integers 6 17 8))))
(outputs)

; ---- gradients ----
(defun grads ()
   (setq q0 (tensor_randn (integers 1 2 40 16)))
   (setq k0 (tensor_randn (integers 1 2 40 16)))
   (setq v0 (tensor_randn (integers 1 2 40 16)))
   (setq qa (tensor_requires_grad (tensor_clone q0) true))
   (setq qb (tensor_requires_grad (tensor_clone q0) true))
   (setq va (tensor_requires_grad (tensor_clone v0) true))
   (setq vb (tensor_requires_grad (tensor_clone v0) true))
   (torch_backward (tensor_sum (tensor_mul (torch_flash_attention qa k0 va nil true) v0)))
   (torch_backward (tensor_sum (tensor_mul (torch_scaled_dot_product_attention qb k0 vb nil 0 true) v0)))
   (lt_equal "grad q" (tensor_grad qa) (tensor_grad qb))
   (lt_equal "grad v" (tensor_grad va) (tensor_grad vb)))
(grads)

; ---- the module ----
(defun module ()
   (setq fa (torch_flash_attention_create 16 4))
   (setq x (tensor_randn (integers 2 9 16)))
   (setq y (torch_flash_attention_forward fa x x x))
   (lt_check "module output shape" (= (string (tensor_shape y)) (string (integers 2 9 16))))
   (lt_equal "torch_forward = attention of x over x" (torch_forward fa x) y)
   (lt_equal "no dropout when not training" (torch_flash_attention_with_dropout fa x x x 0.5 false) y)
   (lt_check "dropout when training" (> (lt_maxdiff (torch_flash_attention_with_dropout fa x x x 0.5 true) y) 1e-3))
   (lt_check "8 parameters" (= (size (torch_module_parameters fa)) 8))
   (lt_check "4 without bias" (= (size (torch_module_parameters (torch_flash_attention_create 16 4 0 false))) 4)))
(module)

; ---- errors name the primitive ----
(defun errors ()
   (setq q (tensor_randn (integers 1 2 5 8)))
   (setq k (tensor_randn (integers 1 2 6 4)))
   (setq e (catch (torch_flash_attention q k k)))
   (lt_check "shape mismatch is an error" (maybe e))
   (lt_check "the error names torch_flash_attention" (lt_contains (string e) "torch_flash_attention"))
   (setq e (catch (torch_flash_attention q q q -1)))
   (lt_check "negative scale is an error" (and (maybe e) (lt_contains (string e) "scale")))
   (setq e (catch (torch_flash_attention_create 10 3)))
   (lt_check "embed not a multiple of heads" (and (maybe e) (lt_contains (string e) "torch_flash_attention_create"))))
(errors)

(lt_check "all tensors freed" (= (tensor_in_memory) base))

(lt_report)
