/* api_doc.c - prints docs/API.md from the primitive table. */
#include <stdio.h>
#include "lispe_torch.h"

int main(void) {
  if (lt_init() != LT_OK) return 1;
  lt_write_api_markdown(stdout);
  return 0;
}
