/* tokenizer_prims.h - the section 9 primitives, defined in the area files of
 * src/tokenizers/ and listed in the table of tokenizer_rows.c. */
#ifndef LT_TOKENIZER_PRIMS_H
#define LT_TOKENIZER_PRIMS_H

#include "lispe_torch.h"

#define LT_PRIM(name) int name(const lt_value *a, lt_value *out)

/* tokenizer_common.c: any tokenizer */
LT_PRIM(lt_p_tok_encode);
LT_PRIM(lt_p_tok_decode);
LT_PRIM(lt_p_tok_vocab_size);

/* simple_tokenizer.c */
LT_PRIM(lt_p_simple_tokenizer);

/* sentencepiece_prims.c */
LT_PRIM(lt_p_spm_tokenizer);
LT_PRIM(lt_p_spm_train);

/* padding.c */
LT_PRIM(lt_p_pad_sequences);
LT_PRIM(lt_p_attention_mask);

/* tiktoken_prims.c */
LT_PRIM(lt_p_tk_create);
LT_PRIM(lt_p_tk_load);
LT_PRIM(lt_p_tk_encode);
LT_PRIM(lt_p_tk_special_encode);
LT_PRIM(lt_p_tk_encode_batch);
LT_PRIM(lt_p_tk_decode);
LT_PRIM(lt_p_tk_decode_bytes);
LT_PRIM(lt_p_tk_decode_single_token_bytes);
LT_PRIM(lt_p_tk_token_byte_values);
LT_PRIM(lt_p_tk_vocab_size);
LT_PRIM(lt_p_tk_set_space);
LT_PRIM(lt_p_tk_add_meta);
LT_PRIM(lt_p_tk_remove_meta);
LT_PRIM(lt_p_tk_list_meta);

#undef LT_PRIM
#endif
