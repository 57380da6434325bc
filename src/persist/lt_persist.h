/* lt_persist.h - helpers shared by src/persist/ (not installed). */
#ifndef LT_PERSIST_H
#define LT_PERSIST_H
#include "lt_internal.h"

/* path + ".tmp", malloc'd */
int lt_persist_tmp_path(const char *path, char **tmp);

/* primitives (state.c) */
int lt_p_save_model(const lt_value *a, lt_value *out);
int lt_p_load_model(const lt_value *a, lt_value *out);
int lt_p_state_dict(const lt_value *a, lt_value *out);
int lt_p_load_state_dict(const lt_value *a, lt_value *out);
int lt_p_save_checkpoint(const lt_value *a, lt_value *out);
int lt_p_load_checkpoint(const lt_value *a, lt_value *out);
int lt_p_safetensors_save(const lt_value *a, lt_value *out);
int lt_p_safetensors_load(const lt_value *a, lt_value *out);
int lt_p_safetensors_metadata(const lt_value *a, lt_value *out);

#endif
