; lora_finetune.lisp - the LoRA fine-tuning loop of the manual, end to end, on
; a Hugging Face model: batches of sequences of different lengths (padded;
; padded targets are -100 and do not count), LoRA dropout in training mode,
; gradient accumulation, gradient clipping, warm-up + cosine learning rate,
; an adapter folder every 10 epochs in PEFT's layout; then evaluation mode, the
; adapter loaded into a fresh copy of the model gives the same generation,
; and merged into its weights still does.
; The model is the tiny random Llama-3 of tests/data/hf/llama3 (vocabulary 80,
; no tokenizer: the data are id sequences). The task: count by a step
; ("1 s s+k s+2k ... 2" with 1 = bos, 2 = eos), which the base model cannot.
(use 'lispe_torch)

(setq src (getenv "LT_SOURCE_DIR"))
(if (or (nullp src) (= src "")) (setq src (+ _current "..")))
(setq model_dir (+ src "/tests/data/hf/llama3"))
(setq out_dir (+ (getenv "PWD") "/lora_finetune_out"))

(torch_manual_seed 11)
(setq model (torch_hf_load_model model_dir))

; the data: 24 sequences, 5 to 9 tokens
(setq data (list))
(loop start (range 3 15 1)
   (loop stride (integers 3 4)
      (setq seq (integers 1))
      (setq n (+ 3 (% (+ start stride) 5)))
      (loopcount n i (push seq (+ start (* i stride))))
      (push seq 2)
      (push data seq)))

; a batch: inputs seq[:-1] padded with 0, targets seq[1:] padded with -100
(defun make_batch (seqs)
   (setq ins (list))
   (setq outs (list))
   (loop s seqs
      (push ins (@@ s 0 -1))
      (push outs (@@ s 1 0)))
   (list (tensor_create (torch_pad_sequences ins 0 0) "int64")
         (tensor_create (torch_pad_sequences outs 0 -100) "int64")))

(setq batch_size 4)
(setq batches (list))
(loop b (range 0 (size data) batch_size)
   (push batches (make_batch (@@ data b (+ b batch_size)))))

(setq epochs 30)
(setq accumulate 2)
(setq updates (/ (* epochs (size batches)) accumulate))
(println (size data) "sequences in" (size batches) "batches;" updates "optimizer updates")

(setq trainable (torch_hf_lora_init model (dictionary "rank" 8 "alpha" 16 "lora_dropout" 0.05
                                                      "target_modules" (strings "all-linear"))))
(println "LoRA: " trainable "trainable values")
(setq params (torch_hf_lora_parameters model))
(setq optimizer (torch_optimizer params 0.02 "adamw"))
(setq scheduler (torch_lr_scheduler optimizer "linear_warmup_cosine"
                   (dictionary "initial_lr" 0.02 "min_lr" 0.001 "warmup_steps" 5 "total_steps" updates)))

(defun batch_loss (batch)
   (torch_cross_entropy (torch_hf_forward model (@ batch 0)) (@ batch 1) -100))

(defun mean_loss ()
   (setq total 0.0)
   (loop batch batches (+= total (tensor_item (batch_loss batch))))
   (/ total (size batches)))

(setq before (mean_loss))
(println "mean loss before:" before)
(torch_module_train model true)
(setq step 0)
(loopcount epochs epoch
   (setq epoch_loss 0.0)
   (torch_optimizer_zero_grad optimizer)
   (loop batch batches
      (setq loss (batch_loss batch))
      (+= epoch_loss (tensor_item loss))
      ; accumulated gradients average over the accumulated batches
      (torch_backward (tensor_div loss accumulate))
      (+= step 1)
      (if (eq (% step accumulate) 0)
         (block
            (setq norm (torch_clip_grad_norm params 1.0))
            (torch_optimizer_step optimizer)
            (torch_scheduler_step scheduler)
            (torch_optimizer_zero_grad optimizer))))
   (if (eq (% (+ epoch 1) 10) 0)
      (block
         (setq folder (+ out_dir "/epoch_" (+ epoch 1)))
         (torch_hf_lora_save model folder)
         (println "epoch" (+ epoch 1) "training loss" (/ epoch_loss (size batches))
                  "last gradient norm" norm "lr" (torch_scheduler_get_lr scheduler) "saved" folder))))
(torch_module_train model false)
(setq after (mean_loss))
(println "mean loss after:" after)
(if (not (< after (* 0.5 before))) (println "FAIL: the loss did not fall enough"))

; what the tuned model writes after "1 5 9": 13 17 21 ...
(setq prompt (integers 1 5 9))
(setq tuned (torch_hf_generate model prompt 2 6 (dictionary "greedy" true)))
(println "tuned model, greedy after 1 5 9:" tuned)

; the last adapter in a fresh copy of the model: the same tokens
(setq fresh (torch_hf_load_model model_dir))
(setq base_tokens (torch_hf_generate fresh prompt 2 6 (dictionary "greedy" true)))
(println "base model, greedy after 1 5 9:" base_tokens)
(torch_hf_lora_load fresh (+ out_dir "/epoch_" epochs))
(setq reloaded (torch_hf_generate fresh prompt 2 6 (dictionary "greedy" true)))
(println "reloaded adapter:" reloaded)
(if (not (= reloaded tuned)) (println "FAIL: the reloaded adapter generates other tokens"))
(torch_hf_lora_merge fresh)
(setq merged (torch_hf_generate fresh prompt 2 6 (dictionary "greedy" true)))
(println "merged into the weights:" merged)
(if (not (= merged tuned)) (println "FAIL: the merged model generates other tokens"))
(println "example done")
