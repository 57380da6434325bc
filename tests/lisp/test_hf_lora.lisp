; test_hf_lora.lisp - section 11 from LispE, as the manual's LoRA training
; runs: a model loaded under a name, LoRA from a config dictionary, an
; optimizer over the adapters, a few training steps in training mode with
; LoRA dropout (the loss falls; evaluation mode is deterministic), the
; adapters saved in PEFT's layout and loaded into another model, PEFT's own
; adapter giving PEFT's logits.
(use 'lispe_torch)
(load (+ _current "lib/check.lisp"))

(setq src (getenv "LT_SOURCE_DIR"))
(if (or (nullp src) (= src "")) (setq src (+ _current "../..")))
(setq hf (+ src "/tests/data/hf"))

; the manual's order: path config name
(torch_hf_load_model_lora (+ hf "/llama3") (dictionary "device" "cpu") "llama_lora")
(setq base (torch_hf_forward "llama_lora" (integers 1 17 42 5 63 9 30)))
(setq n (torch_hf_lora_init "llama_lora" (dictionary "rank" 4 "alpha" 8.0 "lora_dropout" 0.05
                                          "target_modules" (strings "q_proj" "k_proj" "v_proj" "o_proj"))))
; q 4x24 + 24x4, k and v 4x24 + 12x4, o 4x24 + 24x4, over 2 layers
(lt_check "init: trainable values" (= n (* 2 (+ 192 144 144 192))))
(lt_check "init: outputs unchanged" (= (lt_maxdiff base (torch_hf_forward "llama_lora" (integers 1 17 42 5 63 9 30))) 0))

(setq optimizer (torch_adamw_optimizer_create 0.01))
(torch_optimizer_add_params optimizer (torch_hf_lora_parameters "llama_lora"))
(setq input (tensor_unsqueeze (tensor_create (integers 1 17 42 5 63 9 30)) 0))
(setq target (tensor_create (integers 17 42 5 63 9 30 2)))
(setq losses (floats))
(lt_check "loaded in evaluation mode" (not (@ (torch_hf_model_info "llama_lora") "training")))
(torch_module_train "llama_lora" true)
(loopcount 20 step
   (setq loss (torch_cross_entropy (tensor_select (torch_hf_forward "llama_lora" input) 0 0) target))
   (push losses (tensor_item loss))
   (torch_optimizer_zero_grad optimizer)
   (torch_backward loss)
   (torch_optimizer_step optimizer))
(println "LoRA loss" (@ losses 0) "->" (@ losses 19))
(lt_check "training: the loss falls" (< (@ losses 19) (* 0.8 (@ losses 0))))
(lt_check "training: dropout draws anew"
          (> (lt_maxdiff (torch_hf_forward "llama_lora" input) (torch_hf_forward "llama_lora" input)) 0))
(torch_module_train "llama_lora" false)
(lt_check "evaluation: no dropout"
          (= (lt_maxdiff (torch_hf_forward "llama_lora" input) (torch_hf_forward "llama_lora" input)) 0))

(setq out (+ (getenv "PWD") "/lora_test_out/epoch_1"))
(lt_check "save: 8 adapted projections" (= (torch_hf_lora_save "llama_lora" out) 8))
(setq other (torch_hf_load_model (+ hf "/llama3")))
(torch_hf_lora_load other out)
(lt_check "load: lora_dropout kept" (= (@ (torch_hf_model_info other) "lora_dropout") 0.05))
(lt_check "load: same outputs"
          (= (lt_maxdiff (torch_hf_forward other input) (torch_hf_forward "llama_lora" input)) 0))
(torch_hf_lora_merge other)
(lt_check "merge: same outputs" (< (lt_maxdiff (torch_hf_forward other input) (torch_hf_forward "llama_lora" input)) 1e-4))
(torch_hf_lora_unmerge other)

; PEFT's adapter, PEFT's logits
(setq golden (json_parse (fread (+ hf "/lora_golden.json"))))
(torch_hf_lora_load other (+ hf "/llama3_lora"))
(setq got (tensor_to_list (tensor_flatten (tensor_select (torch_hf_forward other input) 0 0))))
(setq worst 0.0)
(loopcount 560 i
   (setq d (- (@ got i) (@ golden "logits" i)))
   (if (< d 0) (setq d (- 0.0 d)))
   (if (> d worst) (setq worst d)))
(lt_check "PEFT adapter: PEFT's logits" (< worst 2e-5))

(lt_error_with "bad target" (catch (torch_hf_lora_init other 2 4.0 (strings "w_proj"))) "w_proj")
(lt_report)
