/* tokenizer_rows.c - section 9 primitives (being written, issue 4). */
#include "lt_internal.h"

void lt_tokenizer_kind_init(void) {}

const lt_row lt_rows_tokenizers[] = {
    {NULL, NULL, NULL, NULL, NULL},
};
