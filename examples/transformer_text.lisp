; transformer_text.lisp - next-token training on a few sentences:
; simple tokenizer -> embedding + positional encoding -> transformer block ->
; projection, cross-entropy (padding ignored), the loss falls; then save,
; reload into fresh modules, and check the outputs are the same.
(use 'lispe_torch)

(torch_manual_seed 7)
(setq tokenizer (torch_simple_tokenizer))
(setq texts (list
    "The quick brown fox jumps over the lazy dog."
    "Machine learning is transforming artificial intelligence."
    "Natural language processing enables computers to understand text."
    "Deep learning models require large amounts of training data."))

(setq seqs (list))
(loop text texts
    (push seqs (torch_encode tokenizer text)))
(setq max_length 12)
; [4, 12] int64, padded with 0 (<pad>) and truncated
(setq padded (tensor_create (torch_pad_sequences seqs max_length 0) "int64"))
(setq inputs (tensor_slice padded 1 0 (- max_length 1)))
(setq targets (tensor_slice padded 1 1 max_length))
(setq seq_len (- max_length 1))

; attention: causal and never to padding (true = attend)
(setq keep (tensor_clamp inputs 0 1))
(setq causal (tensor_tril (tensor_ones (integers seq_len seq_len))))
(setq mask (tensor_to_dtype (tensor_mul causal (tensor_unsqueeze keep 1)) "bool"))

(setq vocab_size (torch_vocab_size tokenizer))
(setq embed_dim 32)
(setq embedding (torch_embedding vocab_size embed_dim))
(setq positions (torch_positional_encoding embed_dim 64))
(setq encoder (torch_transformer_block embed_dim 4 64))
(setq projection (torch_linear embed_dim vocab_size))

(defun run_model (emb pos blk proj)
    (torch_forward proj
        (torch_transformer_forward blk (torch_positional_forward pos (torch_forward emb inputs)) mask)))

(setq optimizer (torch_optimizer_create "adam" 0.01))
(torch_optimizer_add_params optimizer embedding)
(torch_optimizer_add_params optimizer encoder)
(torch_optimizer_add_params optimizer projection)

(setq first_loss 0)
(setq last_loss 0)
(loop step (range 0 80 1)
    (setq logits (run_model embedding positions encoder projection))
    ; id 0 is <pad>: padded targets do not count
    (setq loss (torch_cross_entropy logits targets 0))
    (torch_optimizer_zero_grad optimizer)
    (torch_backward loss)
    (torch_optimizer_step optimizer)
    (if (eq step 0) (setq first_loss (tensor_item loss)))
    (setq last_loss (tensor_item loss))
    (if (eq (% step 20) 0) (println "step" step "loss" (tensor_item loss))))
(println "first loss:" first_loss "last loss:" last_loss)
(if (not (< last_loss (* 0.5 first_loss)))
    (println "FAIL: the loss did not fall"))

; save, reload into fresh modules, same outputs
(torch_module_train encoder false)
(setq dir "/tmp/lispe_torch_transformer_text")
(torch_save_model embedding (+ dir "_embedding.pt"))
(torch_save_model encoder (+ dir "_block.pt"))
(torch_save_model projection (+ dir "_projection.pt"))
(setq embedding2 (torch_embedding vocab_size embed_dim))
(setq encoder2 (torch_transformer_block embed_dim 4 64))
(setq projection2 (torch_linear embed_dim vocab_size))
(torch_load_model (+ dir "_embedding.pt") embedding2)
(torch_load_model encoder2 (+ dir "_block.pt"))
(torch_load_model (+ dir "_projection.pt") projection2)
(setq before (run_model embedding positions encoder projection))
(setq after (run_model embedding2 positions encoder2 projection2))
(setq gap (tensor_item (tensor_max (tensor_abs (tensor_sub before after)))))
(println "largest difference after reload:" gap)
(if (< gap 1e-6)
    (println "same outputs after reload - example done")
    (println "FAIL: outputs differ after reload"))
