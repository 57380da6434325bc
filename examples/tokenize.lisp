; tokenize.lisp - the three tokenizers of lispe_torch:
;  1. Llama-3 with the manual's Tokenizer class (tiktoken_create over the parts
;     of a Hugging Face tokenizer.json read with json_parse), and a chat template;
;  2. SentencePiece: training a small model, encoding and decoding (and the
;     Llama-2 model when the shared data is there);
;  3. the simple tokenizer with padding and attention masks.
; The shared data is found through LT_SHARED_DATA (default ../shared/data).
(use 'lispe_torch)

(setq data_dir (getenv "LT_SHARED_DATA"))
(if (or (nullp data_dir) (= data_dir "")) (setq data_dir "../shared/data"))

; ---- 1. Llama-3: the manual's Tokenizer class ----
(class@ Tokenizer (tokenizer_json init)
    (defun configure()
        ; Load the tokenizer.json
        (setq vocab (json_parse (fread tokenizer_json)))

        ; Create tokenizer
        (setqi tokenizer_obj (tiktoken_create
            (@ vocab "model" "vocab")
            (@ vocab "added_tokens")
            (@ vocab "pre_tokenizer" "pretokenizers" 0 "pattern" "Regex")
        ))

        ; Get special tokens
        (setqi bos_id (tiktoken_special_encode tokenizer_obj "<|begin_of_text|>"))
        (setqi eos_id (tiktoken_special_encode tokenizer_obj "<|end_of_text|>"))
    )

    (defun encode(text)
        ; Encode text (special token text stays text) and add BOS
        (setq tokens (tiktoken_encode tokenizer_obj text))
        (pushfirst tokens bos_id)
        tokens
    )

    ; The Llama-3 chat template: its special tokens must be recognized, so
    ; they are allowed explicitly ("all"); the template already holds BOS.
    (defun encode_chat(instruction response)
        (setq formatted_text (+
            "<|begin_of_text|>"
            "<|start_header_id|>system<|end_header_id|>\n\n"
            "You are a helpful assistant knowledgeable about programming languages."
            "<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\n"
            instruction
            "<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n"
            response
            "<|eot_id|>"
        ))
        (tiktoken_encode tokenizer_obj formatted_text "all")
    )

    (defun decode(token_list)
        (tiktoken_decode tokenizer_obj token_list)
    )

    (defun vocabulary()
        (tiktoken_vocab_size tokenizer_obj)
    )
)

(setq llama3_path (+ data_dir "/hf-tokenizers/llama3_tokenizer.json"))
(setq probe (catch (fread llama3_path)))
(if (or (maybe probe) (= probe ""))
    (println "skipped: no shared data (Llama-3 tokenizer.json)")
    (block
        (setq tok (Tokenizer llama3_path nil))
        (withclass Tokenizer
            (tok (configure))
            (println "Llama-3 vocabulary:" (tok (vocabulary)))
            (setq tokens (tok (encode "Hello, how are you?")))
            (println "Tokens:" tokens)
            (println "Decoded text:" (tok (decode tokens)))
            (setq chat (tok (encode_chat "What is LispE?" "A Lisp written in C++.")))
            (println "Chat template:" (size chat) "tokens, starting with" (@ chat 0) (@ chat 1) (@ chat 2) (@ chat 3))
            (println "Chat decoded back:" (tok (decode chat)))
        )
        ; the same vocabulary straight from the file, and the raw bytes of a token
        (setq direct (tiktoken_load llama3_path))
        (println "tiktoken_load gives the same ids:" (tiktoken_encode direct "Hello, how are you?"))
        (println "bytes of token 9906:" (tiktoken_decode_single_token_bytes direct 9906))
        (println "batch:" (tiktoken_encode_batch direct (strings "first text" "second text")))
    )
)

; ---- 2. SentencePiece ----
(fwrite "tokenize_example_corpus.txt" (+
    "Natural language processing enables computers to understand text.\n"
    "Machine learning models require sophisticated tokenization systems.\n"
    "SentencePiece provides subword tokenization for modern AI.\n"
    "Tokenizers split text into pieces and pieces into ids.\n"))
(setq trained (catch (torch_train_sentencepiece "tokenize_example_corpus.txt" "tokenize_example_spm" 60 "bpe")))
(if (maybe trained)
    (println "skipped: SentencePiece is not available here")
    (block
        (println trained)
        (setq sp (torch_sentencepiece_tokenizer "tokenize_example_spm.model"))
        (println "SentencePiece vocabulary:" (torch_vocab_size sp))
        (setq sp_tokens (torch_encode sp "Machine learning models"))
        (println "SentencePiece tokens:" sp_tokens)
        (println "SentencePiece decoded:" (torch_decode sp sp_tokens))
        (setq llama2 (catch (torch_sentencepiece_tokenizer (+ data_dir "/sentencepiece/sctg_llama_tokenizer.model"))))
        (if (maybe llama2)
            (println "skipped: no shared data (Llama-2 SentencePiece model)")
            (block
                (setq ids (torch_encode llama2 "Hello, world!"))
                (println "Llama-2 ids:" ids)
                (println "Llama-2 decoded:" (torch_decode llama2 ids))
            )
        )
    )
)

; ---- 3. the simple tokenizer, padding and masks ----
(setq simple (torch_simple_tokenizer))
(setq texts (list "Hello world!" "This is a longer sentence, with punctuation." "Short text."))
(setq sequences (list))
(loop text texts
    (push sequences (torch_encode simple text)))
(println "Simple vocabulary:" (torch_vocab_size simple))
(println "First sequence:" (@ sequences 0) "->" (torch_decode simple (@ sequences 0)))
(setq padded (torch_pad_sequences sequences 10))
(println "Padded batch:" padded)
(setq attention_mask (torch_attention_mask padded))
(println "Attention mask:" attention_mask)
(println "Truncated to 4, padded with <eos>:" (torch_pad_sequence sequences 4 3))

(println "example done")
