/* lt_lispe.h - the LispE adapter of lispe_torch (internal to lispe_bindings/).
 *
 * The only code of the project that includes LispE's headers. It knows no
 * libtorch: everything goes through the primitive table (lispe_torch.h) and
 * the value model (lt_value.h).
 *
 *   module.cxx   InitialisationModule, one deflib per table row, the call path
 *   convert.cxx  LispE values <-> lt_value (zero-copy numeric lists)
 *   handle.cxx   LtHandle: a tensor/module/... handle as a LispE value
 */
#ifndef LT_LISPE_H
#define LT_LISPE_H

#include "lispe.h"

#include <string>
#include <vector>
#include <deque>
#include <memory>

#include "lispe_torch.h"

namespace lt_lispe {

/* ---- LispE types of our handles, one per handle kind ---- */
extern int16_t handle_types[LT_H_KIND_COUNT];
/* the primitives LispE's + - * / and a few methods go through */
struct Ops {
  const lt_primitive *add, *sub, *mul, *div, *create, *set_item, *clone, *shape;
};
extern Ops ops;

/* inline: asked for every argument of every call */
inline bool is_handle_type(int16_t type) {
  if (type == 0) return false;
  for (int k = 1; k < LT_H_KIND_COUNT; k++)
    if (handle_types[k] == type) return true;
  return false;
}

/* ---- the handle object ---- */
struct AtChain;

class LtHandle : public Element {
public:
  lt_handle h;
  /* `at` with several indices: see handle.cxx */
  LtHandle* chain_root;
  AtChain* chain;
  Element* index_slot;

  /* takes over the reference h */
  LtHandle(lt_handle hd);
  ~LtHandle();

  bool is_tensor() const { return h.kind == LT_H_TENSOR; }

  Element* eval(LispE*) override { return this; }

  /* printing */
  std::string repr();
  string toString(LispE* lisp) override;
  wstring asString(LispE* lisp) override;
  u_ustring asUString(LispE* lisp) override;
  wstring jsonString(LispE* lisp) override;

  /* a one-element tensor reads as a number */
  bool number(double& d);
  double asNumber() override;
  float asFloat() override;
  long asInteger() override;
  int asInt() override;
  int16_t asShort() override;
  double checkNumber(LispE* lisp) override;
  long checkInteger(LispE* lisp) override;
  float checkFloat(LispE* lisp) override;
  int16_t checkShort(LispE* lisp) override;
  bool Boolean() override;
  bool isEmpty() override;
  bool isList() override;
  bool isNumber() override;
  long size() override;

  /* LispE's at / set@ */
  Element* protected_index(LispE* lisp, Element* k) override;
  Element* protected_index(LispE* lisp, long i) override;
  Element* value_on_index(LispE* lisp, Element* k) override;
  Element* value_on_index(LispE* lisp, long i) override;
  Element* value_from_index(LispE* lisp, long i) override;
  Element* index(long i) override;
  bool element_container(Element* result) override;
  Element* replace(LispE* lisp, long i, Element* e) override;
  Element* replace(LispE* lisp, Element* i, Element* e) override;
  /* (loop v t ...): v takes t[0], t[1] ... (numbers for a 1-d tensor) */
  Element* loop(LispE* lisp, int16_t label, List* code) override;

  /* LispE's + - * / with numbers or tensors on either side */
  Element* plus(LispE* lisp, Element* e) override;
  Element* minus(LispE* lisp, Element* e) override;
  Element* multiply(LispE* lisp, Element* e) override;
  Element* divide(LispE* lisp, Element* e) override;
  Element* newInstance(Element* v) override;
  Element* fullcopy() override;

  /* comparisons with numbers (one-element tensors) */
  Element* equal(LispE* lisp, Element* e) override;
  bool egal(Element* e) override;
  bool isequal(LispE* lisp, Element* e) override;
  Element* less(LispE* lisp, Element* e) override;
  Element* lessorequal(LispE* lisp, Element* e) override;
  Element* more(LispE* lisp, Element* e) override;
  Element* moreorequal(LispE* lisp, Element* e) override;

private:
  Element* binop(LispE* lisp, const lt_primitive* p, Element* e, const char* opname);
  Element* at_one(LispE* lisp, int64_t i, bool chained);
  double scalar(LispE* lisp, const char* what);
  int compare(LispE* lisp, Element* e, const char* opname);
};

/* ---- conversions ---- */

/* Storage that must live as long as a converted argument (UTF-8 copies of
 * strings, child arrays of lists and dictionaries). Nothing is allocated
 * unless such a value is met. */
struct Scratch {
  std::deque<std::string> strings;
  std::vector<std::unique_ptr<lt_value[]>> values;
  std::vector<std::unique_ptr<char*[]>> keys;
  const char* keep(std::string&& s);
  lt_value* values_for(size_t n);
  char** keys_for(size_t n);
};

/* LispE value -> lt_value (borrowed; strings/lists kept in *scratch).
 * top: a direct argument of a primitive, which may give its numeric list's
 * memory away (zero copy) when nobody else can reach it.
 * Returns false (and fills *why) for a value that cannot be converted. */
bool to_value(LispE* lisp, Element* e, lt_value* out, std::unique_ptr<Scratch>& scratch, bool top,
              std::string* why);

/* lt_value -> LispE value. Handles are taken over (their kind is set to
 * LT_NIL in *v), everything else is copied; the caller clears *v after. */
Element* from_value(LispE* lisp, lt_value* v);

/* numbers and strings for messages */
std::string utf8(const u_ustring& u);
u_ustring ustr(const std::string& s);
wstring wstr(const std::string& s);

/* Throws the last error of the library as a LispE error. */
[[noreturn]] void throw_last_error();
[[noreturn]] void throw_error(const std::string& msg);

}  // namespace lt_lispe

#endif
