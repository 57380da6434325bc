; test_tokenizers.lisp - section 9 from LispE: the simple tokenizer, padding and
; attention masks, tiktoken (a hand-made vocabulary; Llama-3 from its
; tokenizer.json when the shared data is there), SentencePiece (training a
; small model; the Llama-2 model when the shared data is there), bad input.
(use 'lispe_torch)
(load (+ _current "lib/check.lisp"))

; same integers, element by element
(defun same_ids (a b)
   (setq same (= (size a) (size b)))
   (if same
      (loopcount (size a) i
         (if (neq (@ a i) (@ b i)) (setq same nil))))
   same)

(setq data_dir (getenv "LT_SHARED_DATA"))
(if (or (nullp data_dir) (= data_dir "")) (setq data_dir "../shared/data"))
(setq base (tensor_in_memory))

; ---- the simple tokenizer ----
(defun test_simple ()
   (setq tok (torch_simple_tokenizer))
   (lt_check "simple: 4 special tokens" (= (torch_vocab_size tok) 4))
   (setq ids (torch_encode tok "Hello world! This is a test."))
   (lt_check "simple: encode gives a tensor" (= (tensor_dtype ids) "int64"))
   (lt_check "simple: ids" (same_ids (tensor_to_list ids) (integers 2 4 5 6 7 8 9 10 11 3)))
   (lt_check "simple: vocabulary grew" (= (torch_tokenizer_get_vocab_size tok) 12))
   (lt_check "simple: decode" (= (torch_decode tok ids) "hello world! this is a test."))
   (lt_check "simple: decode integers" (= (torch_tokenizer_decode tok (integers 2 4 1 5 3 0)) "hello <unk> world"))
   (lt_check "simple: decode a list" (= (torch_decode tok (list 4 6)) "hello!"))
   (lt_check "simple: aliases" (same_ids (tensor_to_list (torch_tokenizer_encode (torch_tokenizer_create) "a b a"))
                                         (integers 2 4 5 4 3)))
   (lt_error_with "simple: id out of range" (catch (torch_decode tok (integers 4 999))) "id 999")
   (lt_error_with "simple: negative id" (catch (torch_decode tok (integers -1))) "torch_decode")
   (lt_error_with "simple: text must be a string" (catch (torch_encode tok 42)) "argument 2")
   (lt_error_with "simple: not a tokenizer" (catch (torch_vocab_size (tensor_ones (integers 2)))) "tokenizer"))
(test_simple)

; ---- padding and masks ----
(defun test_padding ()
   (setq padded (torch_pad_sequences (list (integers 1 2 3) (integers 4)) 5))
   (lt_check "pad: shape" (same_ids (tensor_shape padded) (integers 2 5)))
   (setq rows (tensor_to_list padded))
   (lt_check "pad: row 0" (same_ids (@ rows 0) (integers 1 2 3 0 0)))
   (lt_check "pad: row 1" (same_ids (@ rows 1) (integers 4 0 0 0 0)))
   (setq mask (torch_attention_mask padded))
   (setq mrows (tensor_to_list mask))
   (lt_check "mask: row 0" (same_ids (@ mrows 0) (integers 1 1 1 0 0)))
   (lt_check "mask: row 1" (same_ids (@ mrows 1) (integers 1 0 0 0 0)))
   ; truncation and another pad id
   (setq p2 (tensor_to_list (torch_pad_sequence (list (integers 1 2 3) (integers 4)) 2 9)))
   (lt_check "pad: truncated" (same_ids (@ p2 0) (integers 1 2)))
   (lt_check "pad: pad id" (same_ids (@ p2 1) (integers 4 9)))
   (setq m2 (tensor_to_list (torch_create_attention_mask (torch_pad_sequence (list (integers 7) (integers 7 8)) 3 9) 9)))
   (lt_check "mask: pad id" (same_ids (@ m2 0) (integers 1 0 0)))
   ; the manual's pipeline: encode, pad, mask
   (setq tok (torch_simple_tokenizer))
   (setq seqs (list (torch_encode tok "Hello world!") (torch_encode tok "Short text.")))
   (setq batch (torch_pad_sequences seqs 8))
   (lt_check "pipeline: shape" (same_ids (tensor_shape batch) (integers 2 8)))
   (lt_check "pipeline: row 1" (same_ids (@ (tensor_to_list batch) 1) (integers 2 7 8 9 3 0 0 0)))
   (lt_check "pipeline: mask" (same_ids (@ (tensor_to_list (torch_attention_mask batch)) 0) (integers 1 1 1 1 1 0 0 0)))
   (lt_error_with "pad: negative length" (catch (torch_pad_sequences seqs -1)) "max_len")
   (lt_error_with "pad: not sequences" (catch (torch_pad_sequences (list "a" "b") 3)) "seqs"))
(test_padding)

; ---- tiktoken on a hand-made vocabulary ----
(defun test_tiktoken_toy ()
   (setq vocab (dictionary "a" 0 "b" 1 "c" 2 "ab" 3 "abc" 4 " " 5))
   (setq specials (list (dictionary "content" "<|end|>" "id" 10)))
   (setq tok (tiktoken_create vocab specials))
   (lt_check "tiktoken: vocab size" (= (tiktoken_vocab_size tok) 11))
   (lt_check "tiktoken: generic vocab size" (= (torch_vocab_size tok) 11))
   (setq ids (tiktoken_encode tok "abc cab"))
   (lt_check "tiktoken: encode" (same_ids ids (integers 4 5 2 3)))
   (lt_check "tiktoken: decode" (= (tiktoken_decode tok ids) "abc cab"))
   (lt_check "tiktoken: decode_bytes" (same_ids (tiktoken_decode_bytes tok (integers 3 5)) (integers 97 98 32)))
   (lt_check "tiktoken: single token bytes" (same_ids (tiktoken_decode_single_token_bytes tok 4) (integers 97 98 99)))
   (setq allbytes (tiktoken_token_byte_values tok))
   (lt_check "tiktoken: byte values" (= (size allbytes) 6))
   (lt_check "tiktoken: byte values sorted" (same_ids (@ allbytes 2) (integers 97 98)))
   (lt_check "tiktoken: special id" (= (tiktoken_special_encode tok "<|end|>") 10))
   (lt_check "tiktoken: specials allowed" (same_ids (tiktoken_encode tok "ab<|end|>c" "all") (integers 3 10 2)))
   (lt_check "tiktoken: one special allowed" (same_ids (tiktoken_encode tok "ab<|end|>" (strings "<|end|>")) (integers 3 10)))
   (lt_check "tiktoken: special_encode of a text" (same_ids (tiktoken_special_encode tok "c<|end|>") (integers 2 10)))
   (setq ids2 (tiktoken_encode tok "ab"))
   (pushfirst ids2 10)
   (lt_check "tiktoken: pushfirst on the result" (same_ids ids2 (integers 10 3)))
   (setq batch (tiktoken_encode_batch tok (strings "abc" "ab ab")))
   (lt_check "tiktoken: batch" (and (same_ids (@ batch 0) (integers 4)) (same_ids (@ batch 1) (integers 3 5 3))))
   (lt_check "tiktoken: generic encode" (same_ids (tensor_to_list (torch_encode tok "abc")) (integers 4)))
   (lt_check "tiktoken: generic decode" (= (torch_decode tok (integers 4 5)) "abc "))
   ; meta characters
   (tiktoken_set_space tok "c")
   (lt_check "meta: space" (= (tiktoken_decode tok (integers 2 3)) " ab"))
   (tiktoken_add_meta tok "b" "B")
   (lt_check "meta: added" (= (tiktoken_decode tok (integers 2 3)) " aB"))
   (lt_check "meta: listed" (= (size (tiktoken_list_meta tok)) 2))
   (tiktoken_remove_meta tok "b")
   (tiktoken_set_space tok "")
   (lt_check "meta: removed" (= (tiktoken_decode tok (integers 2 3)) "cab"))
   ; bad input
   (lt_error_with "tiktoken: unknown id" (catch (tiktoken_decode tok (integers 7))) "unknown token id 7")
   (lt_error_with "tiktoken: id out of range" (catch (tiktoken_decode tok (integers 11))) "id 11")
   (lt_error_with "tiktoken: bytes without a token" (catch (tiktoken_encode tok "xyz")) "no token")
   (lt_error_with "tiktoken: bad vocab" (catch (tiktoken_create (dictionary "a" "zero"))) "vocab")
   (lt_error_with "tiktoken: bad specials" (catch (tiktoken_create vocab (list 1 2))) "special_tokens")
   (lt_error_with "tiktoken: bad pattern" (catch (tiktoken_create vocab specials "(unclosed")) "pattern")
   (lt_error_with "tiktoken: missing file" (catch (tiktoken_load "/nonexistent/tokenizer.json")) "cannot open")
   (lt_error_with "tiktoken: not a tiktoken tokenizer" (catch (tiktoken_encode (torch_simple_tokenizer) "a")) "tiktoken"))
(test_tiktoken_toy)

; ---- Llama-3 with the manual's tiktoken_create call ----
(defun test_llama3 ()
   (setq path (+ data_dir "/hf-tokenizers/llama3_tokenizer.json"))
   (setq content (catch (fread path)))
   (if (or (maybe content) (= content ""))
      (println "skipped: Llama-3 (no shared data)")
      (block
         (setq vocab (json_parse content))
         (setq tok (tiktoken_create
            (@ vocab "model" "vocab")
            (@ vocab "added_tokens")
            (@ vocab "pre_tokenizer" "pretokenizers" 0 "pattern" "Regex")))
         (lt_check "llama3: vocab size" (= (tiktoken_vocab_size tok) 128256))
         (lt_check "llama3: bos" (= (tiktoken_special_encode tok "<|begin_of_text|>") 128000))
         (lt_check "llama3: Hello world" (same_ids (tiktoken_encode tok "Hello world") (integers 9906 1917)))
         (lt_check "llama3: round trip" (= (tiktoken_decode tok (tiktoken_encode tok "Déjà vu, 日本語!")) "Déjà vu, 日本語!"))
         (setq chat (tiktoken_encode tok "<|start_header_id|>user<|end_header_id|>" "all"))
         (lt_check "llama3: chat template" (same_ids chat (integers 128006 882 128007))))))
(test_llama3)

; ---- SentencePiece ----
(defun test_sentencepiece ()
   (fwrite "lt_spm_corpus.txt" (+
      "Natural language processing enables computers to understand text.\n"
      "Machine learning models require sophisticated tokenization systems.\n"
      "SentencePiece provides subword tokenization for modern models.\n"
      "Tokenizers split text into pieces and pieces into ids.\n"))
   (setq msg (catch (torch_train_sentencepiece "lt_spm_corpus.txt" "lt_spm_model" 60 "bpe")))
   (if (and (maybe msg) (lt_contains (string msg) "not available"))
      (println "skipped: SentencePiece (liblt_spm.so not found)")
      (block
         (lt_check "spm: trained" (and (not (maybe msg)) (lt_contains msg "lt_spm_model.model")))
         (setq sp (torch_sentencepiece_tokenizer "lt_spm_model.model"))
         (lt_check "spm: vocab size" (= (torch_vocab_size sp) 60))
         (setq ids (torch_encode sp "Machine learning models"))
         (lt_check "spm: decode" (= (torch_decode sp ids) "Machine learning models"))
         (lt_error_with "spm: id out of range" (catch (torch_decode sp (integers 60))) "id 60")
         (lt_error_with "spm: bad model type" (catch (torch_train_sentencepiece "lt_spm_corpus.txt" "x" 60 "wordpiece")) "model_type")
         (lt_error_with "spm: missing model" (catch (torch_sentencepiece_tokenizer "/nonexistent.model")) "model_path")
         (lt_error_with "spm: not a model" (catch (torch_sentencepiece_tokenizer "lt_spm_corpus.txt")) "not a SentencePiece model")
         (setq llama2 (+ data_dir "/sentencepiece/sctg_llama_tokenizer.model"))
         (setq probe (catch (torch_sentencepiece_tokenizer llama2)))
         (if (maybe probe)
            (println "skipped: Llama-2 SentencePiece model (no shared data)")
            (block
               (lt_check "llama2: vocab" (= (torch_vocab_size probe) 32000))
               (setq lids (torch_encode probe "Hello, world!"))
               (lt_check "llama2: ids" (same_ids (tensor_to_list lids) (integers 15043 29892 3186 29991)))
               (lt_check "llama2: decode" (= (torch_decode probe lids) "Hello, world!")))))))
(test_sentencepiece)

(lt_check "no tensor leaked" (= (tensor_in_memory) base))

(lt_report)
