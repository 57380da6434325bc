/* module.cxx - LispE's entry point for (use 'lispe_torch): one LispE type per
 * handle kind, one deflib per row of the primitive table, and the call path
 * LispE arguments -> lt_value[] -> lt_call -> LispE value. */
#include "lt_lispe.h"

#include <cstring>
#include <iostream>
#include <mutex>
#include <set>

namespace lt_lispe {

int16_t handle_types[LT_H_KIND_COUNT];
Ops ops;

[[noreturn]] void throw_error(const std::string& msg) { throw new Error(msg); }

[[noreturn]] void throw_last_error() {
  const char* e = lt_last_error();
  throw_error(std::string(e && *e ? e : "lispe_torch: failed"));
}

/* One object per table row (aliases included). The parameters are read by
 * their LispE label, computed once at registration (names keeps the names as
 * declared in the deflib). */
class LtPrimitive : public Element {
public:
  const lt_primitive* prim;
  int nparams;
  int16_t labels[LT_MAX_PARAMS];
  u_ustring names[LT_MAX_PARAMS];

  explicit LtPrimitive(const lt_primitive* p) : Element(l_lib), prim(p), nparams(p->nparams) {
    for (int i = 0; i < LT_MAX_PARAMS; i++) labels[i] = 0;
  }

  Element* eval(LispE* lisp) override {
    lt_value args[LT_MAX_PARAMS];
    std::unique_ptr<Scratch> scratch;  // allocated only for strings, lists, dictionaries
    std::string why;
    int nargs = 0;
    for (int i = 0; i < nparams; i++) {
      Element* e = lisp->get_variable(labels[i]);
      if (!to_value(lisp, e, &args[i], scratch, true, &why)) {
        std::string msg = prim->name;
        msg += ": argument " + std::to_string(i + 1) + " (" + prim->params[i].name + ") ";
        msg += why;
        throw_error(msg);
      }
      if (args[i].kind != LT_NIL) nargs = i + 1;
    }
    lt_value out;
    if (lt_call(prim, args, nargs, &out) != LT_OK) throw_last_error();
    Element* r;
    try {
      r = from_value(lisp, &out);
    } catch (...) {
      lt_value_clear(&out);
      throw;
    }
    lt_value_clear(&out);
    return r;
  }

  wstring asString(LispE*) override {
    std::string s = std::string("<lispe_torch primitive ") + prim->name + ">";
    return wstr(s);
  }
};

/* lt_invoke's way into the interpreter: (fn arg ...) evaluated as LispE
 * evaluates a call to a function value (sort's comparator, maplist ...). */
static int invoke(const lt_value* fn, const lt_value* args, int nargs, lt_value* result) {
  LispE* lisp = (LispE*)fn->u.call.env;
  List* call = NULL;
  try {
    call = lisp->provideCall((Element*)fn->u.call.fn, nargs);
    for (int i = 0; i < nargs; i++) {
      lt_value a = args[i];
      /* from_value takes a handle's reference over: give it its own */
      if (a.kind == LT_HANDLE && lt_handle_retain(args[i].u.h, &a.u.h) != LT_OK) throw_last_error();
      call->in_quote(i + 1, from_value(lisp, &a));
    }
    Element* r = call->eval(lisp);
    if (result) {
      std::unique_ptr<Scratch> scratch;
      std::string why;
      lt_value v;
      /* only plain results can outlive the call (no borrowed strings) */
      if ((r->isNumber() && !is_handle_type(r->type)) || r == lisp->n_null || r == lisp->n_true || r == lisp->n_false) {
        to_value(lisp, r, &v, scratch, false, &why);
        *result = v;
      }
    }
    r->release();
    call->force_release();
    return LT_OK;
  } catch (Error* err) {
    std::string msg = err->toString(lisp);
    err->release();
    if (call) call->force_release();
    return lt_fail("%s", msg.c_str());
  }
}

/* The parameter name as declared in the deflib: LispE refuses a parameter
 * whose name is one of its instructions (data, list, size, min, max ...), so
 * those get a prefix. The name only matters inside the deflib. */
static std::string lispe_param_name(LispE* lisp, const char* name) {
  std::string s = name;
  u_ustring u = ustr(s);
  int16_t label = lisp->encode(u);
  if (label <= l_final) s = "lt_" + s;
  return s;
}

static const char* type_names[LT_H_KIND_COUNT] = {
    "",                    // 0: unused
    "tensor_",             // LT_H_TENSOR
    "torch_module_",       // LT_H_MODULE
    "torch_optimizer_",    // LT_H_OPTIMIZER
    "torch_scheduler_",    // LT_H_SCHEDULER
    "torch_tokenizer_",    // LT_H_TOKENIZER
    "torch_hf_model_",     // LT_H_HF_MODEL
    "torch_kv_cache_",     // LT_H_KV_CACHE
    "torch_generator_",    // LT_H_GENERATOR
    "torch_jit_model_",    // LT_H_JIT
};

/* LispE::createNewType records the name as a data type (patterns, `type`);
 * versions without it get the name's atom label, unique as well. */
template <class L>
static auto create_type(L* lisp, u_ustring& u, int) -> decltype(lisp->createNewType(u)) {
  return lisp->createNewType(u);
}
template <class L>
static int16_t create_type(L* lisp, u_ustring& u, long) {
  return lisp->encode(u);
}

static int16_t new_type(LispE* lisp, const char* name) {
  u_ustring u = ustr(name);
  try {
    return create_type(lisp, u, 0);
  } catch (Error* err) {
    /* already recorded (the library loaded twice in this interpreter) */
    err->release();
    return lisp->encode(u);
  }
}

static bool register_all(LispE* lisp) {
  if (lt_init() != LT_OK) {
    std::cerr << "lispe_torch: the primitive table failed to build" << std::endl;
    return false;
  }
  for (int k = 1; k < LT_H_KIND_COUNT; k++) handle_types[k] = new_type(lisp, type_names[k]);
  lt_set_invoker(invoke);

  ops.add = lt_primitive_find("tensor_add");
  ops.sub = lt_primitive_find("tensor_sub");
  ops.mul = lt_primitive_find("tensor_mul");
  ops.div = lt_primitive_find("tensor_div");
  ops.create = lt_primitive_find("tensor_create");
  ops.set_item = lt_primitive_find("tensor_set_item");
  ops.clone = lt_primitive_find("tensor_clone");
  ops.shape = lt_primitive_find("tensor_shape");

  int n = lt_primitive_count();
  for (int i = 0; i < n; i++) {
    const lt_primitive* p = lt_primitive_at(i);
    LtPrimitive* prim = new LtPrimitive(p);
    std::string decl = "deflib ";
    decl += p->name;
    decl += " (";
    for (int k = 0; k < p->nparams; k++) {
      std::string pn = lispe_param_name(lisp, p->params[k].name);
      if (k) decl += " ";
      decl += p->params[k].optional ? "(" + pn + ")" : pn;
      prim->names[k] = ustr(pn);
      prim->labels[k] = lisp->encode(prim->names[k]);
    }
    decl += ")";
    Element* r = NULL;
    try {
      r = lisp->extension(decl, prim);
    } catch (Error* err) {
      std::cerr << "lispe_torch: cannot register " << p->name << ": " << err->toString(lisp) << std::endl;
      err->release();
      return false;
    }
    if (r == NULL || r->isError()) {
      std::cerr << "lispe_torch: cannot register " << p->name;
      if (r != NULL) std::cerr << ": " << r->toString(lisp);
      std::cerr << std::endl;
      return false;
    }
  }
  return true;
}

}  // namespace lt_lispe

extern "C" __attribute__((visibility("default"))) bool InitialisationModule(LispE* lisp) {
  /* (use 'lispe_torch) and (use 'lispe_tiktoken) load the same library: the
   * second call in one interpreter finds everything in place. */
  static std::mutex mu;
  static std::set<LispE*> done;
  std::lock_guard<std::mutex> lock(mu);
  if (done.count(lisp)) return true;
  if (!lt_lispe::register_all(lisp)) return false;
  done.insert(lisp);
  return true;
}
