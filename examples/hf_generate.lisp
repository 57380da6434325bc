; hf_generate.lisp - a Hugging Face model from LispE: load, generate (streaming
; the tokens through a callback), then fine-tune LoRA adapters on one sentence
; and save them where PEFT reads them.
; The model is the tiny random Llama-3 of tests/data/hf/llama3 (no tokenizer:
; ids stay ids); point `dir` at a real folder (SmolLM2, TinyLlama, Qwen2.5 ...)
; and add a tokenizer for text.
(use 'lispe_torch)

(setq src (getenv "LT_SOURCE_DIR"))
(if (or (nullp src) (= src "")) (setq src (+ _current "..")))
(setq dir (+ src "/tests/data/hf/llama3"))

(setq model (torch_hf_load_model dir (dictionary "dtype" "float32"
                                                 "progress" (lambda (done total) (println "loaded" done "of" total "files")))))
(println (torch_hf_model_summary model))

; greedy, tokens printed as they come
(print "greedy:")
(setq tokens (torch_hf_generate model (integers 1 11 29 4) 2 12
                (dictionary "greedy" true "callback" (lambda (token_id data) (print " " token_id)))))
(println)

; sampling with a seed: the same seed, the same text
(setq a (torch_hf_generate model (integers 1 11 29 4) 2 12 (dictionary "topp" 0.9 "temperature" 0.8 "seed" 5)))
(setq b (torch_hf_generate model (integers 1 11 29 4) 2 12 (dictionary "topp" 0.9 "temperature" 0.8 "seed" 5)))
(println "sampled:" a (if (= a b) "(reproduced)" "(NOT reproduced)"))

; LoRA: teach the model one sequence
(torch_hf_lora_init model (dictionary "rank" 4 "alpha" 8 "target_modules" (strings "q_proj" "v_proj" "o_proj")))
(setq optimizer (torch_optimizer (torch_hf_lora_parameters model) 0.02 "adamw"))
(setq sentence (integers 1 5 9 13 17 21 25 29 33))
(setq input (tensor_unsqueeze (tensor_create (@@ sentence 0 -1)) 0))
(setq target (tensor_create (@@ sentence 1 0)))
(loopcount 40 step
   (setq loss (torch_cross_entropy (tensor_select (torch_hf_forward model input) 0 0) target))
   (if (= (% step 10) 0) (println "step" step "loss" (tensor_item loss)))
   (torch_optimizer_zero_grad optimizer)
   (torch_backward loss)
   (torch_optimizer_step optimizer))
(println "after LoRA, greedy from 1 5:" (torch_hf_generate model (integers 1 5) 2 7 (dictionary "greedy" true)))
(println "saved" (torch_hf_lora_save model (+ (getenv "PWD") "/hf_example_adapter")) "adapted projections")
(println "example done")
