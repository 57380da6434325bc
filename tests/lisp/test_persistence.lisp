; test_persistence.lisp - section 8: module weights (both argument orders),
; state dictionaries, a checkpoint that resumes training, safetensors
; dictionaries; errors name the primitive. Files go to the current directory
; (the build directory under ctest), named lt_persist_test_*.
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

; largest |a - b| over all values
(defun lt_maxdiff (a b) (tensor_item (tensor_max (tensor_abs (tensor_sub a b)))))
(defun lt_same (what a b) (lt_check what (= (lt_maxdiff a b) 0)))

(torch_manual_seed 5)
(setq x (tensor_randn (integers 6 4)))
(setq y (tensor_randn (integers 6 2)))

; ---- torch_save_model / torch_load_model ----
(defun models ()
   (setq model (torch_model 4 8 2))
   (torch_save_model model "lt_persist_test_model.safetensors")
   (setq other (torch_model 4 8 2))
   (lt_check "a new model differs" (> (lt_maxdiff (torch_forward model x) (torch_forward other x)) 0))
   (torch_load_model "lt_persist_test_model.safetensors" other)
   (lt_same "(torch_load_model path module)" (torch_forward model x) (torch_forward other x))
   (setq third (torch_model 4 8 2))
   (setq back (torch_load_model third "lt_persist_test_model.safetensors"))
   (lt_same "(torch_load_model module path)" (torch_forward model x) (torch_forward third x))
   (lt_same "returns the module" (torch_forward back x) (torch_forward third x))
   (torch_save_model "lt_persist_test_model2.safetensors" model)
   (setq rebuilt (torch_load_model "lt_persist_test_model2.safetensors"))
   (lt_same "(torch_load_model path) rebuilds the module" (torch_forward model x) (torch_forward rebuilt x))
   ; another kind: an error naming the primitive, the module untouched
   (setq lin (torch_linear 4 2))
   (setq before (torch_forward lin x))
   (setq e (catch (torch_load_model "lt_persist_test_model.safetensors" lin)))
   (lt_check "another kind is an error" (and (maybe e) (lt_contains (string e) "torch_load_model")))
   (lt_same "the linear is untouched" before (torch_forward lin x))
   (setq e (catch (torch_load_model "lt_persist_test_missing.safetensors" lin)))
   (lt_check "a missing file is an error" (maybe e)))
(models)

; ---- state dictionaries ----
(defun states ()
   (setq model (torch_model 4 8 2))
   (setq sd (torch_state_dict model))
   (lt_check "4 entries" (= (size sd) 4))
   (lt_same "fc1.weight" (@ sd "fc1.weight") (@ (torch_module_parameters model) 0))
   (lt_same "fc2.bias" (@ sd "fc2.bias") (@ (torch_module_parameters model) 3))
   (setq fresh (torch_model 4 8 2))
   (torch_load_state_dict fresh sd)
   (lt_same "torch_load_state_dict" (torch_forward model x) (torch_forward fresh x))
   (setq e (catch (torch_load_state_dict (torch_linear 4 2) sd)))
   (lt_check "unknown keys are an error" (and (maybe e) (lt_contains (string e) "torch_load_state_dict"))))
(states)

; ---- a checkpoint resumes training ----
(defun lt_step (m o)
   (torch_optimizer_zero_grad o)
   (setq loss (torch_mse_loss (torch_forward m x) y))
   (torch_backward loss)
   (torch_optimizer_step o)
   (tensor_item loss))

(defun checkpoints ()
   (setq model (torch_model 4 8 2))
   (setq opt (torch_optimizer model 0.01 "adam"))
   (lt_step model opt)
   (lt_step model opt)
   (torch_save_checkpoint model opt 2 "lt_persist_test_ckpt.pt")
   (setq info (torch_load_checkpoint "lt_persist_test_ckpt.pt"))
   (lt_check "epoch 2" (= (@ info "epoch") 2))
   (lt_check "model kind" (= (@ info "model_kind") "mlp"))
   (lt_check "optimizer kind" (= (@ info "optimizer_kind") "adam"))
   (setq m2 (torch_model 4 8 2))
   (setq o2 (torch_optimizer m2 0.01 "adam"))
   (torch_load_checkpoint "lt_persist_test_ckpt.pt" m2 o2)
   (setq l2 (lt_step m2 o2))
   (setq l1 (lt_step model opt))
   (lt_check "the resumed step has the same loss" (= l1 l2))
   (setq l2 (lt_step m2 o2))
   (setq l1 (lt_step model opt))
   (lt_check "and the next one" (= l1 l2)))
(checkpoints)

; ---- safetensors ----
(defun safetensors ()
   (setq d (dictionary "a" (tensor_randn (integers 2 3)) "b" (tensor_create (integers 1 2 3))))
   (torch_safetensors_save d "lt_persist_test.safetensors" (dictionary "note" "lispe"))
   (setq back (torch_safetensors_load "lt_persist_test.safetensors"))
   (lt_check "2 tensors" (= (size back) 2))
   (lt_same "a" (@ d "a") (@ back "a"))
   (lt_same "b" (@ d "b") (@ back "b"))
   (lt_check "metadata" (= (@ (torch_safetensors_metadata "lt_persist_test.safetensors") "note") "lispe"))
   (setq e (catch (torch_safetensors_load "lt_persist_test_ckpt.pt")))
   (lt_check "a checkpoint is not a safetensors file" (and (maybe e) (lt_contains (string e) "torch_safetensors_load"))))
(safetensors)

(if (= lt_failures 0)
   (println "ALL PASSED" lt_checks "checks")
   (println lt_failures "of" lt_checks "checks failed"))
