/* test_hf_lora.c - section 11: LoRA on Hugging Face models. Against PEFT
 * (an adapter PEFT saved, tests/data/hf/llama3_lora, and the logits PEFT
 * computed with it, tests/data/hf/lora_golden.json, made by
 * tests/tools/gen_lora_golden.py); a fresh adapter changes nothing; merge,
 * unmerge, enable; our saved folder has PEFT's layout and names and reloads
 * to the same outputs; training moves only the adapters; lora_dropout acts
 * in training mode only; errors change nothing. */
#include <json.h>
#include <stdlib.h>
#include <string.h>
#include "lt_internal.h"
#include "lt_safetensors.h"
#include "lt_test.h"

static const char *data(const char *rel) { return test_data("hf/%s", rel); }

static int64_t golden_ids[14] = {1, 17, 42, 5, 63, 9, 30, 1, 3, 77, 21, 21, 50, 8};

static lt_value forward(lt_value m) {
  int64_t shape[2] = {2, 7};
  lt_value flat = ok("tensor_create", 2, I64S(golden_ids, 14), S("int64"));
  lt_value x = ok("tensor_reshape", 2, flat, I64S(shape, 2));
  lt_value y = ok("torch_hf_forward", 2, m, x);
  lt_value_clear(&flat);
  lt_value_clear(&x);
  return y;
}

static lt_value clone(lt_value t) { return ok("tensor_clone", 1, t); }

static lt_value dict_dtype(const char *dt) {
  lt_value d = lt_dict_new(3);
  lt_dict_put(&d, "dtype", lt_string_cstr(dt));
  return d;
}

static double info_num(lt_value m, const char *key) {
  lt_value d = ok("torch_hf_model_info", 1, m);
  const lt_value *v = lt_dict_get(&d, key);
  double r = v ? lt_as_num(v) : -1;
  lt_value_clear(&d);
  return r;
}

/* PEFT's adapter again, its config's lora_dropout set to p, saved under dir */
static void adapter_with_dropout(lt_value m, const char *dir, double p) {
  lt_value r = ok("torch_hf_lora_load", 2, m, S(data("llama3_lora")));
  lt_value_clear(&r);
  r = ok("torch_hf_lora_save", 2, m, S(dir));
  lt_value_clear(&r);
  char cfg[1100];
  snprintf(cfg, sizeof cfg, "%s/adapter_config.json", dir);
  json_object *c = json_object_from_file(cfg);
  CHECK(c != NULL);
  if (!c) return;
  json_object_object_add(c, "lora_dropout", json_object_new_double(p));
  CHECK(json_object_to_file(cfg, c) == 0);
  json_object_put(c);
  r = ok("torch_hf_lora_load", 2, m, S(dir));
  lt_value_clear(&r);
}

/* dropout on the adapters' input, in training mode only (PEFT's lora_dropout):
 * p = 1 leaves exactly the base model, p = 0.5 a random mix; evaluation mode
 * gives PEFT's logits whatever p; the value survives save and load */
static void dropout_checks(lt_value base, lt_value peft, const char *tmp) {
  lt_value m = ok("torch_hf_load_model", 1, S(data("llama3")));
  CHECK(info_num(m, "training") == 0);  /* loaded for inference */
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/dropout", tmp);
  adapter_with_dropout(m, dir, 1.0);
  CHECK(info_num(m, "lora_dropout") == 1.0);
  lt_value y = forward(m);
  CHECK(diff_tensors(y, peft) == 0);
  lt_value r = ok("torch_module_train", 2, m, lt_bool(1));
  lt_value_clear(&r);
  CHECK(info_num(m, "training") == 1);
  lt_value yt = forward(m);
  CHECK(diff_tensors(yt, base) == 0);  /* every adapter input dropped */
  lt_value_clear(&yt);
  lt_value_clear(&y);

  adapter_with_dropout(m, dir, 0.5);  /* loading keeps the training mode */
  lt_value a = forward(m), b = forward(m);
  printf("lora_dropout 0.5, training: logits differ from PEFT's eval logits by %.3g, from each other by %.3g\n",
         diff_tensors(a, peft), diff_tensors(a, b));
  CHECK(diff_tensors(a, peft) > 1e-3 && diff_tensors(a, base) > 1e-3 && diff_tensors(a, b) > 1e-3);
  r = ok("torch_module_train", 2, m, lt_bool(0));
  lt_value_clear(&r);
  y = forward(m);
  CHECK(diff_tensors(y, peft) == 0);
  char cfg[1100];
  snprintf(cfg, sizeof cfg, "%s/adapter_config.json", dir);
  r = ok("torch_hf_lora_save", 2, m, S(dir));
  lt_value_clear(&r);
  json_object *c = json_object_from_file(cfg);
  CHECK(c && json_object_get_double(json_object_object_get(c, "lora_dropout")) == 0.5);
  if (c) json_object_put(c);

  /* through the init config; a bad value is refused and changes nothing */
  lt_value conf = lt_dict_new(3);
  lt_dict_put(&conf, "rank", lt_int(2));
  lt_dict_put(&conf, "lora_dropout", lt_float(0.1));
  r = ok("torch_hf_lora_init", 2, m, conf);
  lt_value_clear(&r);
  CHECK(info_num(m, "lora_dropout") == 0.1 && info_num(m, "lora_rank") == 2);
  lt_dict_put(&conf, "lora_dropout", lt_float(1.5));
  fails("torch_hf_lora_init", "lora_dropout must be a number in [0, 1]", 2, m, conf);
  CHECK(info_num(m, "lora_dropout") == 0.1);
  fails("torch_module_train", "must be a module or a Hugging Face model", 2, lt_int(3), lt_bool(1));
  fails("torch_module_train", "no model was loaded under the name", 2, S("no such model"), lt_bool(1));
  lt_value_clear(&conf);
  lt_value_clear(&a);
  lt_value_clear(&b);
  lt_value_clear(&y);
  lt_value_clear(&m);
}

/* a float16 model with float32 adapters, as one fine-tunes on a CPU: the
 * fresh adapter changes nothing, Adam steps lower the loss */
static void half_model(void) {
  lt_value m = ok("torch_hf_load_model", 2, S(data("llama3")), keep(dict_dtype("float16")));
  int64_t seq[8] = {1, 17, 42, 5, 63, 9, 30, 2};
  lt_value in = ok("tensor_create", 2, I64S(seq, 7), S("int64"));
  lt_value tgt = ok("tensor_create", 2, I64S(seq + 1, 7), S("int64"));
  lt_value base = ok("torch_hf_forward", 2, m, in);
  lt_value conf = dict_dtype("float32");
  lt_dict_put(&conf, "rank", lt_int(2));
  lt_value r = ok("torch_hf_lora_init", 2, m, conf);
  lt_value y = ok("torch_hf_forward", 2, m, in);
  CHECK(diff_tensors(y, base) == 0);
  lt_value params = ok("torch_hf_lora_parameters", 1, m);
  lt_value opt = ok("torch_optimizer", 3, params, lt_float(0.01), S("adam"));
  double first = 0, last = 0;
  for (int step = 0; step < 5; step++) {
    lt_value logits = ok("torch_hf_forward", 2, m, in);
    lt_value flat = ok("tensor_to_dtype", 2, keep(ok("tensor_select", 3, logits, lt_int(0), lt_int(0))), S("float32"));
    lt_value loss = ok("torch_cross_entropy", 2, flat, tgt);
    last = num_of(loss);
    if (step == 0) first = last;
    const char *calls[3] = {"torch_optimizer_zero_grad", "torch_backward", "torch_optimizer_step"};
    for (int i = 0; i < 3; i++) {
      lt_value v = ok(calls[i], 1, i == 1 ? loss : opt);
      lt_value_clear(&v);
    }
    lt_value_clear(&loss);
    lt_value_clear(&flat);
    lt_value_clear(&logits);
  }
  printf("float16 model, float32 adapters, 5 Adam steps: loss %.4f -> %.4f\n", first, last);
  CHECK(last < first);
  lt_value vals[] = {opt, params, y, r, conf, base, tgt, in, m};
  for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) lt_value_clear(&vals[i]);
}

int main(void) {
  CHECK(lt_init() == LT_OK);
  json_object *g = json_object_from_file(data("lora_golden.json"));
  CHECK(g != NULL);
  if (!g) return test_summary("test_hf_lora");
  double want[1120];
  json_object *jl = json_object_object_get(g, "logits");
  CHECK(json_object_array_length(jl) == 1120);
  for (int i = 0; i < 1120; i++) want[i] = json_object_get_double(json_object_array_get_idx(jl, (size_t)i));
  json_object_put(g);

  lt_value m = ok("torch_hf_load_model_lora", 3, S("tiny"), S(data("llama3")), lt_nil());
  lt_value base = forward(m);
  lt_value w0 = ok("torch_hf_get_weight", 2, m, S("model.layers.1.mlp.down_proj.weight"));
  lt_value w_base = clone(w0);

  /* PEFT's adapter gives PEFT's logits */
  lt_value n = ok("torch_hf_lora_load", 2, S("tiny"), S(data("llama3_lora")));
  CHECK(n.kind == LT_INT && n.u.i == 2 * 5);
  lt_value y = forward(m);
  double d = diff_values(y, want, 1120);
  if (d > 2e-5) fprintf(stderr, "PEFT adapter: logits differ from PEFT's by %g\n", d);
  CHECK(d <= 2e-5);
  CHECK(diff_tensors(y, base) > 0.1);  /* the adapter does change the outputs */

  /* disabled: exactly the base model */
  lt_value r = ok("torch_hf_lora_enable", 2, m, lt_bool(0));
  lt_value_clear(&r);
  lt_value yd = forward(m);
  CHECK(diff_tensors(yd, base) == 0);
  r = ok("torch_hf_lora_enable", 2, m, lt_bool(1));
  lt_value_clear(&r);

  /* merged weights give the same outputs; unmerged ones are the base again,
   * up to float32 rounding of w + d - d (PEFT's unmerge subtracts too) */
  r = ok("torch_hf_lora_merge", 1, m);
  lt_value_clear(&r);
  lt_value ym = forward(m);
  CHECK(diff_tensors(ym, y) <= 2e-5);
  CHECK(diff_tensors(w0, w_base) > 0);  /* the model's own weight tensor changed */
  fails("torch_hf_lora_merge", "already merged", 1, m);
  fails("torch_hf_lora_init", "unmerge them first", 2, m, lt_int(4));
  r = ok("torch_hf_lora_unmerge", 1, m);
  lt_value_clear(&r);
  printf("merge + unmerge: weights within %.3g of the base\n", diff_tensors(w0, w_base));
  CHECK(diff_tensors(w0, w_base) <= 1e-6);
  fails("torch_hf_lora_unmerge", "not merged", 1, m);

  /* our save: PEFT's file names, tensor names and config; reloads the same */
  char dir[512];
  CHECK(make_tmpdir(dir, sizeof dir, "lora") == 0);
  char out_dir[600];
  snprintf(out_dir, sizeof out_dir, "%s/adapters/epoch_1", dir);
  lt_value k = ok("torch_hf_lora_save", 2, m, S(out_dir));
  CHECK(k.kind == LT_INT && k.u.i == 10);
  lt_value ours = lt_nil(), theirs = lt_nil();
  char p1[700], p2[700];
  snprintf(p1, sizeof p1, "%s/adapter_model.safetensors", out_dir);
  snprintf(p2, sizeof p2, "%s/adapter_model.safetensors", data("llama3_lora"));
  CHECK(lt_safetensors_load(p1, NULL, &ours, NULL) == LT_OK);
  CHECK(lt_safetensors_load(p2, NULL, &theirs, NULL) == LT_OK);
  int same_names = ours.kind == LT_DICT && theirs.kind == LT_DICT && ours.u.dict.n == theirs.u.dict.n;
  for (int64_t i = 0; same_names && i < ours.u.dict.n; i++) same_names = lt_dict_get(&theirs, ours.u.dict.keys[i]) != NULL;
  CHECK(same_names);
  lt_value_clear(&ours);
  lt_value_clear(&theirs);
  snprintf(p1, sizeof p1, "%s/adapter_config.json", out_dir);
  json_object *c = json_object_from_file(p1);
  CHECK(c && json_object_get_int(json_object_object_get(c, "r")) == 4 &&
        json_object_get_int(json_object_object_get(c, "lora_alpha")) == 8 &&
        strcmp(json_object_get_string(json_object_object_get(c, "peft_type")), "LORA") == 0 &&
        json_object_array_length(json_object_object_get(c, "target_modules")) == 5);
  if (c) json_object_put(c);
  lt_value fresh = ok("torch_hf_load_model", 1, S(data("llama3")));
  lt_value n2 = ok("torch_hf_lora_load", 2, fresh, S(out_dir));
  lt_value y2 = forward(fresh);
  CHECK(diff_tensors(y2, y) == 0);
  lt_value_clear(&n2);

  /* a fresh adapter (B = 0) leaves the outputs exactly as they were */
  lt_value targets = L(2, S("q_proj"), S("down_proj"));
  lt_value cnt = ok("torch_hf_lora_init", 4, fresh, lt_int(2), lt_float(4.0), targets);
  /* q: 2x24 + 24x2, down: 2x48 + 24x2, over 2 layers */
  CHECK(cnt.kind == LT_INT && cnt.u.i == 2 * (2 * 24 + 24 * 2 + 2 * 48 + 24 * 2));
  lt_value y3 = forward(fresh);
  CHECK(diff_tensors(y3, base) == 0);

  /* training moves the adapters and only them: the loss falls */
  lt_value params = ok("torch_hf_lora_parameters", 1, fresh);
  CHECK(params.kind == LT_LIST && params.u.list.n == 8);
  lt_value opt = ok("torch_optimizer", 3, params, lt_float(0.01), S("adam"));
  lt_value q_before = clone(keep(ok("torch_hf_get_q_weight", 2, fresh, lt_int(0))));
  int64_t seq[8] = {1, 17, 42, 5, 63, 9, 30, 2};
  lt_value in = ok("tensor_create", 2, I64S(seq, 7), S("int64"));
  lt_value tgt = ok("tensor_create", 2, I64S(seq + 1, 7), S("int64"));
  double first = 0, last = 0;
  for (int step = 0; step < 30; step++) {
    lt_value logits = ok("torch_hf_forward", 2, fresh, in);
    lt_value flat = ok("tensor_select", 3, logits, lt_int(0), lt_int(0));
    lt_value loss = ok("torch_cross_entropy", 2, flat, tgt);
    double l = num_of(loss);
    if (step == 0) first = l;
    last = l;
    lt_value z = ok("torch_optimizer_zero_grad", 1, opt);
    lt_value b = ok("torch_backward", 1, loss);
    lt_value s = ok("torch_optimizer_step", 1, opt);
    lt_value_clear(&z);
    lt_value_clear(&b);
    lt_value_clear(&s);
    lt_value_clear(&loss);
    lt_value_clear(&flat);
    lt_value_clear(&logits);
  }
  printf("LoRA training, 30 Adam steps: loss %.4f -> %.4f\n", first, last);
  CHECK(last < first * 0.7);
  lt_value q_after = ok("torch_hf_get_q_weight", 2, fresh, lt_int(0));
  CHECK(diff_tensors(q_before, q_after) == 0);
  lt_value_clear(&q_after);
  lt_value_clear(&q_before);

  /* errors change nothing */
  lt_value y4 = forward(fresh);
  fails("torch_hf_lora_init", "\"w_proj\" is not a projection", 4, fresh, lt_int(2), lt_float(4.0), keep(L(1, S("w_proj"))));
  fails("torch_hf_lora_init", "rank must be positive", 3, fresh, lt_int(0), lt_float(4.0));
  lt_value cfg = lt_dict_new(2);
  lt_dict_put(&cfg, "rank", lt_int(2));
  lt_dict_put(&cfg, "colour", lt_int(2));
  fails("torch_hf_lora_init", "\"colour\" is unknown", 2, fresh, cfg);
  lt_value_clear(&cfg);
  /* an adapter folder whose r does not match its tensors */
  char bad_dir[700];
  snprintf(bad_dir, sizeof bad_dir, "%s/bad", dir);
  lt_value k2 = ok("torch_hf_lora_save", 2, fresh, S(bad_dir));
  lt_value_clear(&k2);
  snprintf(p1, sizeof p1, "%s/adapter_config.json", bad_dir);
  char *text = slurp(p1, NULL);
  char *rr = text ? strstr(text, "\"r\": 2") : NULL;
  CHECK(rr != NULL);
  if (rr) {
    rr[strlen("\"r\": ")] = '3';
    FILE *f = fopen(p1, "w");
    fputs(text, f);
    fclose(f);
  }
  free(text);
  fails("torch_hf_lora_load", "for rank 3", 2, fresh, S(bad_dir));
  fails("torch_hf_lora_load", "adapter_config.json", 2, fresh, S(dir));
  lt_value y5 = forward(fresh);
  CHECK(diff_tensors(y4, y5) == 0);
  lt_value plain = ok("torch_hf_load_model", 1, S(data("qwen3")));
  fails("torch_hf_lora_parameters", "no LoRA adapters", 1, plain);
  fails("torch_hf_lora_save", "no LoRA adapters", 2, plain, S(bad_dir));
  fails("torch_hf_lora_merge", "no LoRA adapters", 1, plain);
  lt_value_clear(&plain);
  dropout_checks(base, y, dir);
  half_model();
  remove_tmpdir(dir);

  lt_value_clear(&y5);
  lt_value_clear(&y4);
  lt_value_clear(&tgt);
  lt_value_clear(&in);
  lt_value_clear(&opt);
  lt_value_clear(&params);
  lt_value_clear(&y3);
  lt_value_clear(&cnt);
  lt_value_clear(&targets);
  lt_value_clear(&y2);
  lt_value_clear(&fresh);
  lt_value_clear(&k);
  lt_value_clear(&yd);
  lt_value_clear(&ym);
  lt_value_clear(&y);
  lt_value_clear(&n);
  lt_value_clear(&w_base);
  lt_value_clear(&w0);
  lt_value_clear(&base);
  lt_value_clear(&m);
  return test_summary("test_hf_lora");
}
