/* handle.cxx - LtHandle: one of our handles (tensor, module, optimizer,
 * scheduler, tokenizer) as a LispE value.
 *
 * The object owns one reference of the handle and releases it in its
 * destructor, so LispE's reference counting frees tensors deterministically.
 * It prints like PyTorch (lt_handle_repr), a one-element tensor reads as a
 * number, LispE's + - * / go through the table's tensor_add/sub/mul/div, and
 * LispE's `at` indexes tensors (lt_tensor_at).
 *
 * Arithmetic follows LispE's convention for its own values: an operation may
 * reuse its left operand when that operand is a temporary (status 0, nobody
 * else holds it) and returns it; otherwise it returns a new object and leaves
 * the operand alone (so copyatom, which LispE calls before an operation, can
 * stay the default "no copy"). LispE's numbers call back into a list-like
 * right operand (isList) through copyatom (+, *) or newInstance (-, /), which
 * is how `(- 1 t)` becomes a tensor.
 *
 * `at` with several indices. LispE evaluates (at t i j k) as
 *     r = t->protected_index(i); r = r->protected_index(j); ...
 *     t->element_container(r) or t->release()
 * and never releases the intermediate results, which LispE's own containers
 * own. Ours are new tensors, so the container they come from (the root t)
 * keeps them (one reference each) in its AtChain until the chain ends: at
 * t->element_container(result) the intermediates are released and the result
 * is handed back as a temporary. A chain is delimited by a mark, so chains
 * nested in index expressions ((at t 0 (at t 1 1))) only clean their own
 * intermediates. A chain cut short by an error leaves its intermediates with
 * t until t is freed (never freed while in use).
 */
#include "lt_lispe.h"

#include <cmath>
#include <cstdlib>
#include <cstring>

namespace lt_lispe {

struct AtChain {
  std::vector<LtHandle*> pending;
  std::vector<size_t> marks;
  bool closing = false;  // an intermediate ended the current chain with a number
};

LtHandle::LtHandle(lt_handle hd)
    : Element(handle_types[hd.kind > 0 && hd.kind < LT_H_KIND_COUNT ? hd.kind : LT_H_TENSOR]),
      h(hd), chain_root(NULL), chain(NULL), index_slot(NULL) {}

LtHandle::~LtHandle() {
  if (chain != NULL) {
    for (LtHandle* p : chain->pending) {
      p->chain_root = NULL;
      p->decrement();
    }
    delete chain;
  }
  if (index_slot != NULL) index_slot->decrement();
  lt_handle_release(h);
}

/* ---- printing ---- */

std::string LtHandle::repr() {
  char* s = lt_handle_repr(h);
  if (s == NULL) return std::string("<") + lt_handle_type_name(h) + ">";
  std::string r(s);
  free(s);
  return r;
}

string LtHandle::toString(LispE*) { return repr(); }
wstring LtHandle::asString(LispE*) { return wstr(repr()); }
u_ustring LtHandle::asUString(LispE*) { return ustr(repr()); }
wstring LtHandle::jsonString(LispE*) {
  std::string r = repr();
  std::string q = "\"";
  for (char c : r) {
    if (c == '"' || c == '\\') q += '\\';
    if (c == '\n') { q += "\\n"; continue; }
    q += c;
  }
  q += "\"";
  return wstr(q);
}

/* ---- numbers ---- */

bool LtHandle::number(double& d) { return is_tensor() && lt_handle_number(h, &d) == LT_OK; }

double LtHandle::asNumber() {
  double d;
  return number(d) ? d : 0;
}
float LtHandle::asFloat() { return (float)asNumber(); }
long LtHandle::asInteger() { return (long)asNumber(); }
int LtHandle::asInt() { return (int)asNumber(); }
int16_t LtHandle::asShort() { return (int16_t)asNumber(); }

double LtHandle::scalar(LispE*, const char* what) {
  double d;
  if (lt_handle_number(h, &d) != LT_OK) {
    std::string msg = std::string(what) + ": " + lt_last_error();
    throw_error(msg);
  }
  return d;
}

double LtHandle::checkNumber(LispE* lisp) { return scalar(lisp, "a number is expected"); }
float LtHandle::checkFloat(LispE* lisp) { return (float)scalar(lisp, "a number is expected"); }
long LtHandle::checkInteger(LispE* lisp) { return (long)scalar(lisp, "an integer is expected"); }
int16_t LtHandle::checkShort(LispE* lisp) { return (int16_t)scalar(lisp, "an integer is expected"); }

bool LtHandle::Boolean() {
  if (!is_tensor()) return h.ptr != NULL;
  int64_t n = lt_handle_size(h);
  if (n == 1) {
    double d;
    return number(d) ? d != 0 : true;
  }
  return n > 0;
}

bool LtHandle::isEmpty() { return is_tensor() ? lt_handle_size(h) == 0 : false; }
bool LtHandle::isList() { return is_tensor(); }
/* LispE's numbers compare with values that say they are numbers */
bool LtHandle::isNumber() { return is_tensor() && lt_handle_size(h) == 1; }
long LtHandle::size() {
  int64_t n = lt_handle_size(h);
  return n < 0 ? 0 : (long)n;
}

/* ---- at ---- */

/* one index: a number (every dimension indexed) or a new tensor */
Element* LtHandle::at_one(LispE* lisp, int64_t i, bool chained) {
  lt_value out;
  if (lt_tensor_at(h, &i, 1, &out) != LT_OK) throw_last_error();
  if (out.kind != LT_HANDLE) {
    Element* r = from_value(lisp, &out);
    lt_value_clear(&out);
    if (chained && chain_root != NULL && chain_root->chain != NULL) chain_root->chain->closing = true;
    return r;
  }
  LtHandle* r = new LtHandle(out.u.h);
  if (!chained) return r;
  LtHandle* root = chain_root != NULL ? chain_root : this;
  if (root->chain == NULL) root->chain = new AtChain;
  AtChain* c = root->chain;
  if (chain_root == NULL) {
    /* a chain starts at its root (a closing flag left by a chain that failed
     * after it is stale) */
    c->marks.push_back(c->pending.size());
    c->closing = false;
  }
  r->chain_root = root;
  r->increment();
  c->pending.push_back(r);
  return r;
}

Element* LtHandle::protected_index(LispE* lisp, Element* k) {
  if (!is_tensor()) throw_error(std::string("at: a ") + lt_handle_type_name(h) + " cannot be indexed");
  if (!k->isNumber() && !is_handle_type(k->type))
    throw_error("at: a tensor index must be an integer, got " + k->toString(lisp));
  double d = k->asNumber();
  if (d != std::floor(d)) throw_error("at: a tensor index must be an integer, got " + k->toString(lisp));
  return at_one(lisp, (int64_t)d, true);
}

Element* LtHandle::protected_index(LispE* lisp, long i) {
  if (!is_tensor()) throw_error(std::string("at: a ") + lt_handle_type_name(h) + " cannot be indexed");
  return at_one(lisp, i, false);
}

Element* LtHandle::value_on_index(LispE* lisp, Element* k) {
  if (!is_tensor()) return lisp->n_null;
  return at_one(lisp, (int64_t)k->asInteger(), false);
}

Element* LtHandle::value_on_index(LispE* lisp, long i) {
  if (!is_tensor()) return lisp->n_null;
  return at_one(lisp, i, false);
}

Element* LtHandle::value_from_index(LispE* lisp, long i) { return value_on_index(lisp, i); }

/* index() hands out a borrowed value: the last one is kept in index_slot. It
 * serves LispE code that walks a container with size()/index(i). */
Element* LtHandle::index(long i) {
  if (!is_tensor()) return this;
  lt_value out;
  int64_t k = i;
  if (lt_tensor_at(h, &k, 1, &out) != LT_OK) throw_last_error();
  Element* r;
  if (out.kind == LT_HANDLE) {
    r = new LtHandle(out.u.h);
    out.kind = LT_NIL;
  } else if (out.kind == LT_INT) {
    r = new Integer((long)out.u.i);
  } else if (out.kind == LT_FLOAT) {
    r = new Number(out.u.f);
  } else {
    r = new Integer(out.kind == LT_BOOL ? out.u.b : 0);
  }
  lt_value_clear(&out);
  r->increment();
  if (index_slot != NULL) index_slot->decrement();
  index_slot = r;
  return r;
}

bool LtHandle::element_container(Element* result) {
  if (chain == NULL || chain->marks.empty()) return false;
  bool ours = false;
  if (is_handle_type(result->type)) {
    LtHandle* r = (LtHandle*)result;
    ours = r->chain_root == this && !chain->pending.empty() && chain->pending.back() == r;
  }
  if (!ours && !chain->closing) return false;
  size_t m = chain->marks.back();
  chain->marks.pop_back();
  chain->closing = false;
  for (size_t k = m; k < chain->pending.size(); k++) {
    LtHandle* p = chain->pending[k];
    p->chain_root = NULL;
    if (p == result)
      p->decrementkeep();  // handed back as a temporary
    else
      p->decrement();
  }
  chain->pending.resize(m);
  return false;  // the caller releases the container as usual
}

/* (set@ t i value): tensor_set_item in place */
Element* LtHandle::replace(LispE* lisp, long i, Element* e) {
  if (!is_tensor() || ops.set_item == NULL) throw_error("set@: only tensors can be modified");
  lt_value args[3], out;
  args[0].kind = LT_HANDLE;
  args[0].u.h = h;
  args[1] = lt_int(i);
  std::unique_ptr<Scratch> scratch;
  std::string why;
  if (!to_value(lisp, e, &args[2], scratch, false, &why)) throw_error("set@: the value " + why);
  if (lt_call(ops.set_item, args, 3, &out) != LT_OK) throw_last_error();
  lt_value_clear(&out);
  return this;
}

Element* LtHandle::replace(LispE* lisp, Element* i, Element* e) { return replace(lisp, i->checkInteger(lisp), e); }

Element* LtHandle::loop(LispE* lisp, int16_t label, List* code) {
  if (!is_tensor() || ops.shape == NULL) throw_error(std::string("loop: a ") + lt_handle_type_name(h) + " cannot be iterated");
  lt_value arg, shape;
  arg.kind = LT_HANDLE;
  arg.u.h = h;
  if (lt_call(ops.shape, &arg, 1, &shape) != LT_OK) throw_last_error();
  int64_t n = -1;
  if (shape.kind == LT_BUFFER && shape.u.buf.dtype == LT_I64 && shape.u.buf.len > 0) n = ((const int64_t*)shape.u.buf.data)[0];
  lt_value_clear(&shape);
  if (n < 0) throw_error("loop: a 0-dim tensor cannot be iterated");
  Element* e = null_;
  long sz = code->liste.size();
  for (int64_t i = 0; i < n; i++) {
    lisp->recording(at_one(lisp, i, false), label);
    e = null_;
    for (long k = 3; k < sz && e->type != l_return && e->type != l_continue; k++) {
      e->release();
      e = code->liste[k]->eval(lisp);
    }
    if (e->type == l_return) {
      if (e->isBreak()) return null_;
      return e;
    }
  }
  return e;
}

/* ---- arithmetic ---- */

Element* LtHandle::binop(LispE* lisp, const lt_primitive* p, Element* e, const char* opname) {
  if (!is_tensor() || p == NULL) throw_error(std::string("cannot apply '") + opname + "' to a " + lt_handle_type_name(h));
  lt_value args[2], out;
  args[0].kind = LT_HANDLE;
  args[0].u.h = h;
  std::unique_ptr<Scratch> scratch;
  std::string why;
  if (!to_value(lisp, e, &args[1], scratch, false, &why)) throw_error(std::string("'") + opname + "': the operand " + why);
  if (lt_call(p, args, 2, &out) != LT_OK) throw_last_error();
  if (out.kind != LT_HANDLE) {
    Element* r = from_value(lisp, &out);
    lt_value_clear(&out);
    return r;
  }
  if (status == 0 && chain == NULL && chain_root == NULL) {
    /* a temporary: reuse it, as LispE does with its own values */
    lt_handle_release(h);
    h = out.u.h;
    out.kind = LT_NIL;
    return this;
  }
  LtHandle* r = new LtHandle(out.u.h);
  out.kind = LT_NIL;
  return r;
}

Element* LtHandle::plus(LispE* lisp, Element* e) { return binop(lisp, ops.add, e, "+"); }
Element* LtHandle::minus(LispE* lisp, Element* e) { return binop(lisp, ops.sub, e, "-"); }
Element* LtHandle::multiply(LispE* lisp, Element* e) { return binop(lisp, ops.mul, e, "*"); }
Element* LtHandle::divide(LispE* lisp, Element* e) { return binop(lisp, ops.div, e, "/"); }

/* (- 1 t): LispE asks the list-like operand for an instance holding the
 * number, then subtracts t from it. A 0-dim tensor of the number broadcasts
 * and promotes like a Python scalar. */
Element* LtHandle::newInstance(Element* v) {
  if (!is_tensor() || ops.create == NULL) return this;
  lt_value arg, out;
  if (v->type == t_integer || v->type == t_short)
    arg = lt_int(v->asInteger());
  else
    arg = lt_float(v->asNumber());
  if (lt_call(ops.create, &arg, 1, &out) != LT_OK) throw_last_error();
  if (out.kind != LT_HANDLE) {
    lt_value_clear(&out);
    throw_error("tensor_create did not return a tensor");
  }
  LtHandle* r = new LtHandle(out.u.h);
  out.kind = LT_NIL;
  return r;
}

Element* LtHandle::fullcopy() {
  if (!is_tensor() || ops.clone == NULL) return this;
  lt_value arg, out;
  arg.kind = LT_HANDLE;
  arg.u.h = h;
  if (lt_call(ops.clone, &arg, 1, &out) != LT_OK) throw_last_error();
  LtHandle* r = new LtHandle(out.u.h);
  out.kind = LT_NIL;
  return r;
}

/* ---- comparisons ---- */

/* -1, 0, 1 between two numbers (one-element tensors) */
int LtHandle::compare(LispE* lisp, Element* e, const char* opname) {
  double a = scalar(lisp, (std::string("'") + opname + "' needs a number").c_str());
  double b;
  if (is_handle_type(e->type))
    b = ((LtHandle*)e)->scalar(lisp, (std::string("'") + opname + "' needs a number").c_str());
  else
    b = e->checkNumber(lisp);
  return a < b ? -1 : (a > b ? 1 : 0);
}

Element* LtHandle::equal(LispE* lisp, Element* e) { return booleans_[egal(e)]; }

bool LtHandle::egal(Element* e) {
  if (e == this) return true;
  if (is_handle_type(e->type) && ((LtHandle*)e)->h.ptr == h.ptr) return true;
  double a, b;
  if (!number(a)) return false;
  if (is_handle_type(e->type)) return ((LtHandle*)e)->number(b) && a == b;
  if (!e->isNumber()) return false;
  return a == e->asNumber();
}

bool LtHandle::isequal(LispE*, Element* e) { return egal(e); }

Element* LtHandle::less(LispE* lisp, Element* e) { return booleans_[compare(lisp, e, "<") < 0]; }
Element* LtHandle::lessorequal(LispE* lisp, Element* e) {
  return booleans_[compare(lisp, e, "<=") <= 0];
}
Element* LtHandle::more(LispE* lisp, Element* e) { return booleans_[compare(lisp, e, ">") > 0]; }
Element* LtHandle::moreorequal(LispE* lisp, Element* e) {
  return booleans_[compare(lisp, e, ">=") >= 0];
}

}  // namespace lt_lispe
