; test_hf.lisp - section 10 from LispE: a Hugging Face model folder (a tiny
; random Llama-3 made by tests/tools/gen_hf_golden.py), named by handle and
; by path, greedy generation against transformers' tokens, the manual's
; token-by-token loop with a KV cache, callbacks (lambda and quoted defun)
; with their data, errors raised inside a callback.
(use 'lispe_torch)
(load (+ _current "lib/check.lisp"))

; a followed by b
(defun joined (a b)
   (setq r (integers))
   (loop x a (push r x))
   (loop x b (push r x))
   r)

(setq src (getenv "LT_SOURCE_DIR"))
(if (or (nullp src) (= src "")) (setq src (+ _current "../..")))
(setq dir (+ src "/tests/data/hf/llama3"))
(setq golden (json_parse (fread (+ src "/tests/data/hf/golden.json"))))
(setq want (integers (@ golden "models" "llama3" "greedy_12")))
(setq prompt (integers (@ golden "prompt")))

(setq model (torch_hf_load_model dir (dictionary "dtype" "float32" "device" "cpu")))
(lt_check "load: model type" (= (@ (torch_hf_model_info model) "model_type") "llama"))
(lt_check "load: 2 layers" (= (@ (torch_hf_model_info dir) "num_hidden_layers") 2))
(lt_check "summary names the model" (lt_contains (torch_hf_model_summary model) "llama"))

; ---- greedy generation equals transformers' ----
(setq got (torch_hf_generate model prompt (integers) 12 (dictionary "greedy" true)))
(lt_check "generate: greedy tokens of transformers" (same_ids got want))
(lt_check "generate: by path" (same_ids (torch_hf_generate dir prompt (integers) 12 (dictionary "greedy" true)) want))

; ---- the manual's loop: forward with a KV cache, one token at a time ----
(setq cache (torch_hf_enable_kv_cache model true))
(setq input (tensor_unsqueeze (tensor_create prompt) 0))
(setq made (integers))
(loopcount 12 i
   (setq logits (torch_hf_forward model input cache))
   (setq last (tensor_select (tensor_select logits 1 -1) 0 0))
   (setq next (tensor_item (tensor_argmax last)))
   (push made next)
   (setq input (tensor_unsqueeze (tensor_create (integers next)) 0)))
(lt_check "kv cache loop: same tokens" (same_ids made want))
(torch_hf_reset_kv_cache cache)
(setq again (torch_hf_forward model (tensor_unsqueeze (tensor_create prompt) 0) cache))
(setq plain (torch_hf_forward model (tensor_unsqueeze (tensor_create prompt) 0)))
(lt_check "kv cache reset: positions restart" (< (lt_maxdiff again plain) 1e-5))

; ---- callbacks ----
(setq seen (integers))
(setq got (torch_hf_generate model prompt (integers) 5
             (dictionary "greedy" true "data" 7
                         "callback" (lambda (token_id data) (push seen (+ token_id (* 1000 data)))))))
(lt_check "lambda callback: every token with its data"
          (same_ids seen (integers (+ 7000 (@ want 0)) (+ 7000 (@ want 1)) (+ 7000 (@ want 2)) (+ 7000 (@ want 3)) (+ 7000 (@ want 4)))))

(setq tok (torch_simple_tokenizer))
(setq shown 0)
(defun show_token (token_id tokenizer)
   (if (= (torch_vocab_size tokenizer) 4) (setg shown (+ shown 1))))
(torch_hf_generate model prompt (@ want 3) 12 (dictionary "greedy" true "callback" 'show_token "data" tok))
(lt_check "quoted defun callback, a tokenizer as data, stops after eos" (= shown 4))

(lt_error_with "an error inside the callback stops generation"
   (catch (torch_hf_generate model prompt (integers) 5
             (dictionary "greedy" true "callback" (lambda (t d) (torch_hf_forward "no such model" t)))))
   "no such model")

; ---- the generator object: the whole sequence, as transformers' generate() ----
(setq gen (torch_generator_create dir "cpu"))
(torch_generator_config gen (dictionary "max_length" 16 "do_sample" false))
(setq full (tensor_to_list (torch_generate gen prompt)))
(lt_check "generator: prompt + greedy tokens" (same_ids full (joined prompt want)))
(torch_generator_config gen (dictionary "eos_token_id" 2))
(lt_check "generator: beam search of transformers"
          (same_ids (tensor_to_list (torch_generator_beam_search gen prompt 14 3))
                    (joined prompt (integers (@ golden "models" "llama3" "beam_3_max_10_eos_2")))))

; ---- attention probabilities ----
(lt_check "attention: nothing recorded yet" (nullp (torch_hf_forward_attention_scores model 0)))
(torch_hf_forward model prompt)
(setq p (torch_hf_forward_attention_scores model 1))
(lt_check "attention: [batch heads seq keys]" (same_ids (tensor_shape p) (integers 1 4 4 4)))
(lt_check "attention: rows sum to 1" (< (lt_maxdiff (tensor_sum p -1) (tensor_ones (integers 1 4 4))) 1e-5))
(torch_hf_clear_attention_scores model)

; ---- errors ----
(lt_error_with "unknown model name" (catch (torch_hf_forward "nowhere" (integers 1 2))) "no model was loaded")
(lt_error_with "id out of range" (catch (torch_hf_forward model (integers 1 500))) "out of range")
(lt_error_with "bad option" (catch (torch_hf_generate model prompt 2 3 (dictionary "beams" 4))) "beams")
(lt_error_with "bad folder" (catch (torch_hf_load_model "/nonexistent")) "config.json")

(lt_report)
