/* persistence_rows.c - section 8: persistence (implemented in state.c and
 * safetensors.c). */
#include "lt_persist.h"

const lt_row lt_rows_persistence[] = {
    {"torch_save_model", NULL, "module:any path:any",
     "writes the module's parameters and buffers to path as a safetensors file (module and path in either order); "
     "written to path.tmp then renamed", lt_p_save_model},
    {"torch_load_model", NULL, "path:any ?module:any",
     "loads weights saved by torch_save_model (or a checkpoint's) into the module, path and module in either order; "
     "kind, names and shapes must match or the module is left untouched; returns the module. With only a path, "
     "rebuilds the module recorded by torch_save_model", lt_p_load_model},
    {"torch_state_dict", NULL, "module:module",
     "dictionary name -> tensor (\"fc1.weight\" ...): detached tensors sharing the module's storage, as PyTorch "
     "(in-place edits change the module)", lt_p_state_dict},
    {"torch_load_state_dict", NULL, "module:module state_dict:dict",
     "copies the values into the module (strict: unknown or missing names and other shapes are errors and leave "
     "the module untouched); returns the module", lt_p_load_state_dict},
    {"torch_save_checkpoint", NULL, "module:module optimizer:optimizer epoch:int path:str",
     "one file with the weights, the optimizer state and the epoch (path.tmp renamed into place)", lt_p_save_checkpoint},
    {"torch_load_checkpoint", NULL, "path:str ?module:module ?optimizer:optimizer",
     "dictionary epoch, model_kind, optimizer_kind (and model_state_dict when no module is given); restores the "
     "module and optimizer given, only when everything matches", lt_p_load_checkpoint},
    {"torch_safetensors_save", NULL, "tensors:dict path:str ?metadata:dict",
     "writes a dictionary name -> tensor as a safetensors file (metadata: string -> string), path.tmp renamed into place",
     lt_p_safetensors_save},
    {"torch_safetensors_load", NULL, "path:str ?device:device",
     "dictionary name -> tensor from a safetensors file (every header field checked)", lt_p_safetensors_load},
    {"torch_safetensors_metadata", NULL, "path:str", "the __metadata__ dictionary of a safetensors file",
     lt_p_safetensors_metadata},
    {NULL, NULL, NULL, NULL, NULL},
};
