/* attention.c - section 7 (being written, issue 3). */
#include "lt_internal.h"

const lt_row lt_rows_attention[] = {
    {NULL, NULL, NULL, NULL, NULL},
};
