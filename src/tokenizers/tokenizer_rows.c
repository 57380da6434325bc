/* tokenizer_rows.c - section 9: the table of the tokenizer primitives.
 * The primitives live in the area files of src/tokenizers/:
 *   tokenizer_common.c   the handle kind, torch_encode / decode / vocab_size
 *   simple_tokenizer.c   torch_simple_tokenizer
 *   sentencepiece_prims.c + spm_dl.c   SentencePiece (dlmopen'd liblt_spm.so)
 *   padding.c            torch_pad_sequences, torch_attention_mask
 *   tiktoken_prims.c     tiktoken_* over tiktoken.c / tiktoken_load.c
 * (lt_tokenizer_kind_init is in tokenizer_common.c.) */
#include "tokenizer_internal.h"
#include "tokenizer_prims.h"

const lt_row lt_rows_tokenizers[] = {
    /* any tokenizer: simple, SentencePiece or tiktoken */
    {"torch_simple_tokenizer", NULL, "",
     "word/punctuation tokenizer, lowercased, with a vocabulary that grows as it encodes; ids 0-3 are <pad> <unk> <bos> <eos>",
     lt_p_simple_tokenizer},
    {"torch_tokenizer_create", "torch_simple_tokenizer", NULL, NULL, NULL},
    {"torch_sentencepiece_tokenizer", NULL, "model_path:str",
     "SentencePiece tokenizer from a .model file (Google's SentencePiece, run in its own link namespace)",
     lt_p_spm_tokenizer},
    {"torch_train_sentencepiece", NULL, "input_file:str prefix:str vocab_size:int model_type:str",
     "trains a SentencePiece model (\"bpe\", \"unigram\", \"char\" or \"word\") on a text file, writes prefix.model and "
     "prefix.vocab; returns a message naming the model file",
     lt_p_spm_train},
    {"torch_encode", NULL, "tok:handle text:str",
     "ids of a text as an int64 tensor (simple: with <bos>/<eos>; SentencePiece: no BOS; tiktoken: special token text is "
     "plain text)",
     lt_p_tok_encode},
    {"torch_tokenizer_encode", "torch_encode", NULL, NULL, NULL},
    {"torch_decode", NULL, "tok:handle ids:data",
     "text of ids (a tensor, integers or a list); ids outside the vocabulary are an error", lt_p_tok_decode},
    {"torch_tokenizer_decode", "torch_decode", NULL, NULL, NULL},
    {"torch_vocab_size", NULL, "tok:handle", "vocabulary size (the simple tokenizer's grows as it encodes)",
     lt_p_tok_vocab_size},
    {"torch_tokenizer_get_vocab_size", "torch_vocab_size", NULL, NULL, NULL},
    {"torch_pad_sequences", NULL, "seqs:list max_len:int ?pad:int",
     "int64 tensor [batch, max_len] of the sequences, truncated or right-padded with pad (default 0); max_len 0: the "
     "longest",
     lt_p_pad_sequences},
    {"torch_pad_sequence", "torch_pad_sequences", NULL, NULL, NULL},
    {"torch_attention_mask", NULL, "seqs:data ?pad:int",
     "int64 mask, 1 for real tokens and 0 for pad (default 0): same shape as a padded tensor, or [batch, longest] for a "
     "list of sequences",
     lt_p_attention_mask},
    {"torch_create_attention_mask", "torch_attention_mask", NULL, NULL, NULL},

    /* tiktoken: byte-level BPE (OpenAI encodings, Hugging Face tokenizer.json) */
    {"tiktoken_create", NULL, "vocab:dict ?special_tokens:any ?pattern:str",
     "tiktoken tokenizer from the parts of a tokenizer.json: model.vocab (token -> id), added_tokens (list of {content, "
     "id}) or a dictionary token -> id, and the pre-tokenizer regex (nil: GPT-2's)",
     lt_p_tk_create},
    {"tiktoken_load", NULL, "path:str", "tiktoken tokenizer from a tokenizer.json or a .tiktoken rank file", lt_p_tk_load},
    {"tiktoken_encode", NULL, "tok:handle text:str ?allowed_special:any",
     "ids as integers; special token text is plain text unless allowed_special is \"all\" (or true), a special token or "
     "a list of them",
     lt_p_tk_encode},
    {"tiktoken_special_encode", NULL, "tok:handle text:str",
     "the id of a special token text (an integer); any other text: its ids as integers, every special token allowed",
     lt_p_tk_special_encode},
    {"tiktoken_encode_batch", NULL, "tok:handle texts:list ?allowed_special:any",
     "ids of each text (a list of integers), encoded by parallel threads", lt_p_tk_encode_batch},
    {"tiktoken_decode", NULL, "tok:handle ids:data",
     "text of ids (invalid UTF-8 replaced by U+FFFD as tiktoken does, then the meta characters replaced)",
     lt_p_tk_decode},
    {"tiktoken_decode_bytes", NULL, "tok:handle ids:data", "the raw bytes of ids, as integers 0-255",
     lt_p_tk_decode_bytes},
    {"tiktoken_decode_single_token_bytes", NULL, "tok:handle id:int", "the raw bytes of one id, as integers 0-255",
     lt_p_tk_decode_single_token_bytes},
    {"tiktoken_token_byte_values", NULL, "tok:handle",
     "the bytes of every mergeable token (a list of integers each), in byte order", lt_p_tk_token_byte_values},
    {"tiktoken_vocab_size", NULL, "tok:handle", "largest id + 1 (ranks and special tokens)", lt_p_tk_vocab_size},
    {"tiktoken_set_space", NULL, "tok:handle str:str",
     "str (e.g. SentencePiece's meta space U+2581) decodes as a space in tiktoken_decode; \"\" removes it", lt_p_tk_set_space},
    {"tiktoken_add_meta", NULL, "tok:handle meta_char:str replacement:str",
     "meta_char decodes as replacement in tiktoken_decode", lt_p_tk_add_meta},
    {"tiktoken_remove_meta", NULL, "tok:handle meta_char:str",
     "removes a meta character; true when there was one", lt_p_tk_remove_meta},
    {"tiktoken_list_meta", NULL, "tok:handle ?metas:dict",
     "without metas: the meta characters (dictionary meta -> replacement); with a dictionary: adds them", lt_p_tk_list_meta},
    {NULL, NULL, NULL, NULL, NULL},
};
