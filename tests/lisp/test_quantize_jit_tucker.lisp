; test_quantize_jit_tucker.lisp - sections 12 to 14 from LispE: quantized
; tensors and an int8 MLP, a TorchScript archive saved by PyTorch 1.13 with
; LoRA on one of its layers, Tucker decomposition.
(use 'lispe_torch)
(load (+ _current "lib/check.lisp"))

(setq src (getenv "LT_SOURCE_DIR"))
(if (or (nullp src) (= src "")) (setq src (+ _current "../..")))

; ---- quantization ----
(setq q (torch_quantize_static (tensor_create (floats 0.1 0.5 1.0 -0.3)) 0.1 10 "quint8"))
(lt_check "quantized dtype" (= (tensor_dtype q) "quint8"))
(lt_check "quantized values read back" (lt_same (tensor_to_list q) (floats 0.1 0.5 1.0 -0.3)))
(lt_check "quantized printing" (lt_contains (string q) "zero_point=10"))
(lt_check "dequantize" (= (tensor_dtype (torch_dequantize q)) "float32"))
(lt_check "saturating int8" (lt_same (tensor_to_list (torch_tensor_to_int8 (tensor_create (floats 1.4 -200 300))))
                                     (integers 1 -128 127)))
(setq mlp (torch_model 64 32 4))
(setq x (tensor_randn (integers 8 64)))
(setq before (torch_forward mlp x))
(setq info (torch_model_quantize_dynamic mlp))
(lt_check "int8 MLP: weights shrink" (> (@ info "ratio") 3.5))
(lt_check "int8 MLP: outputs close" (< (lt_maxdiff before (torch_forward mlp x)) 0.05))

; ---- TorchScript ----
(setq golden (json_parse (fread (+ src "/tests/data/jit/golden.json"))))
(setq m (torch_jit_load (+ src "/tests/data/jit/mlp.pt")))
(setq input (tensor_reshape (tensor_create (floats (@ golden "input"))) (integers 2 4)))
(setq y (torch_jit_model_forward m input))
(lt_check "jit: PyTorch's output" (lt_same (tensor_to_list (tensor_flatten y)) (floats (@ golden "output"))))
(lt_check "jit: parameter names" (= (size (torch_jit_model_list_parameter_names m)) 4))
(lt_check "jit: fc1 inside forward"
          (lt_same (tensor_to_list (tensor_flatten (@ (torch_jit_model_get_intermediate_states m input (strings "fc1")) "fc1")))
                   (floats (@ golden "fc1_output"))))
(setq lora (torch_lora_linear 4 8 2 4.0))
(torch_jit_model_register_lora_hook m "fc1" lora)
(lt_check "jit: a fresh LoRA changes nothing" (< (lt_maxdiff (torch_jit_model_forward_with_lora m input) y) 1e-6))
(torch_jit_unload m)
(lt_error_with "jit: unloaded" (catch (torch_jit_model_forward m input)) "unloaded")

; ---- Tucker ----
(setq core (tensor_randn (integers 2 2 2) "float64"))
(setq factors (list (tensor_randn (integers 4 2) "float64") (tensor_randn (integers 5 2) "float64") (tensor_randn (integers 3 2) "float64")))
(setq t (torch_tucker_reconstruct core factors))
(setq dec (torch_tucker_decomposition t (integers 2 2 2)))
(lt_check "tucker: exact rank recovered" (< (lt_maxdiff (torch_tucker_reconstruct (@ dec 0) (@ dec 1)) t) 1e-9))
(lt_check "tucker: compression ratio" (lt_near (torch_tucker_compression_ratio (integers 4 5 3) (integers 2 2 2)
                                                 (list (integers 4 2) (integers 5 2) (integers 3 2))) (/ 60.0 32.0)))
(lt_report)
