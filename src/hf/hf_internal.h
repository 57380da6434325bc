/* hf_internal.h - section 10, Hugging Face models: what src/hf/ shares. */
#ifndef LT_HF_INTERNAL_H
#define LT_HF_INTERNAL_H

#include "lt_internal.h"

/* A loaded model as LispE sees it: the shim's model plus the settings of the
 * load config (generation defaults, cache length, attention path). */
typedef struct {
  lts_hf_model *m;
  char model_type[32];
  char *name;                    /* the path or name it was loaded under */
  double temperature, top_p, repetition_penalty;
  int64_t top_k, max_cache_len, max_seq_len;
  int use_kv_cache, manual_attention, output_attentions;
  int refs;                      /* atomic */
} lt_hf;

/* loads the folder dir (config: the load config dictionary or nil) and
 * records the model under name */
int lt_hf_load(const char *dir, const char *name, const lt_value *cfg, lt_value *out);
/* a model argument: a handle, or the name a model was loaded under */
int lt_hf_model_arg(const lt_value *v, int argi, lt_hf **out);
void lt_hf_retain(lt_hf *h);
void lt_hf_release(lt_hf *h);
/* token ids of one sequence (tensor, list, number; nil gives none) as a malloc'd array */
int lt_hf_read_ids(const lt_value *v, int argi, const char *pname, int64_t **ids, int64_t *n);

/* Reads dir/config.json into *c; model_type (llama, mistral, qwen2, qwen3)
 * into type. Unsupported features are errors (lt_fail). */
int lt_hf_read_config(const char *dir, lts_hf_config *c, char *type, size_t type_len);
/* Reads the weights of dir (model.safetensors, or the shards named by
 * model.safetensors.index.json) into a dictionary name -> tensor (CPU).
 * progress (may be NULL) is called after each file with (done, total). */
int lt_hf_read_weights(const char *dir, lt_value *weights, void (*progress)(void *, int, int), void *ctx);

#endif
