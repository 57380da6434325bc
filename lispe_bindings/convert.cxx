/* convert.cxx - LispE values <-> lt_value.
 *
 * Arguments are borrowed: numeric lists are passed as pointers into LispE's
 * own storage, strings as UTF-8 copies kept in a per-call Scratch.
 *
 * Zero copy. A numeric list (floats, numbers, integers, shorts) keeps its
 * values in a malloc'd buffer (vecte_a<T>: item_a<T>::buffer, grown with
 * realloc, freed with free). When a direct argument is a list nobody else can
 * reach, the C side may take that buffer (lt_buffer.take): the tensor then owns
 * it and frees it with free(). "Nobody else" means all of:
 *   - the element is not a constant nor protected (status bits s_protect),
 *   - its status is at most 1: the reference of the argument slot of this call
 *     (a list held by a variable, a container or another argument has 2+),
 *   - its storage (item_a) is not shared with another list (items->status 0:
 *     no cdr/slice borrows it),
 *   - the visible part starts at the beginning of the buffer (home == 0).
 * take() re-checks these, hands the buffer over and gives the list a fresh
 * empty buffer, so the LispE object stays valid (and reusable from LispE's
 * pools). Otherwise take is NULL and the C side copies.
 *
 * Results are copied into LispE values in one pass; handles are taken over by
 * new LtHandle objects.
 */
#include "lt_lispe.h"

#include <cstdlib>
#include <cstring>

namespace lt_lispe {

/* ---- UTF-8 ---- */

std::string utf8(const u_ustring& u) {
  std::string s;
  s.reserve(u.size());
  for (auto ch : u) {
    uint32_t c = (uint32_t)ch;
    if (c < 0x80) {
      s += (char)c;
    } else if (c < 0x800) {
      s += (char)(0xC0 | (c >> 6));
      s += (char)(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      s += (char)(0xE0 | (c >> 12));
      s += (char)(0x80 | ((c >> 6) & 0x3F));
      s += (char)(0x80 | (c & 0x3F));
    } else {
      s += (char)(0xF0 | (c >> 18));
      s += (char)(0x80 | ((c >> 12) & 0x3F));
      s += (char)(0x80 | ((c >> 6) & 0x3F));
      s += (char)(0x80 | (c & 0x3F));
    }
  }
  return s;
}

template <class S>
static S decode(const std::string& s) {
  S out;
  out.reserve(s.size());
  size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = (unsigned char)s[i];
    uint32_t cp;
    int extra;
    if (c < 0x80) { cp = c; extra = 0; }
    else if ((c & 0xE0) == 0xC0) { cp = c & 0x1F; extra = 1; }
    else if ((c & 0xF0) == 0xE0) { cp = c & 0x0F; extra = 2; }
    else if ((c & 0xF8) == 0xF0) { cp = c & 0x07; extra = 3; }
    else { cp = 0xFFFD; extra = 0; }
    i++;
    for (int k = 0; k < extra; k++, i++) {
      if (i >= n || (((unsigned char)s[i]) & 0xC0) != 0x80) { cp = 0xFFFD; break; }
      cp = (cp << 6) | (((unsigned char)s[i]) & 0x3F);
    }
    out += (typename S::value_type)cp;
  }
  return out;
}

u_ustring ustr(const std::string& s) { return decode<u_ustring>(s); }
wstring wstr(const std::string& s) { return decode<wstring>(s); }

/* ---- scratch ---- */

const char* Scratch::keep(std::string&& s) {
  strings.push_back(std::move(s));
  return strings.back().c_str();
}

lt_value* Scratch::values_for(size_t n) {
  values.emplace_back(new lt_value[n ? n : 1]);
  return values.back().get();
}

char** Scratch::keys_for(size_t n) {
  keys.emplace_back(new char*[n ? n : 1]);
  return keys.back().get();
}

static inline Scratch& sc(std::unique_ptr<Scratch>& s) {
  if (!s) s.reset(new Scratch);
  return *s;
}

/* ---- zero copy ---- */

template <class L>
static inline bool takeable(L* l) {
  return !l->is_protected() && l->status <= 1 && l->liste.items->status == 0 && l->liste.home == 0;
}

static void release_free(void* p) { free(p); }

/* take(src): src is the LispE list (Floats*, Numbers*, Integers*, Shorts*) */
template <class L, class Z>
static void* take_list(void* src, void (**release)(void*)) {
  L* l = (L*)src;
  if (!takeable(l)) return NULL;
  auto* it = l->liste.items;
  Z* fresh = (Z*)malloc(sizeof(Z) * 9);  // item_a keeps one spare slot: sz + 1
  if (!fresh) return NULL;
  Z* data = it->buffer;
  it->buffer = fresh;
  it->sz = 8;
  it->last = 0;
  *release = release_free;
  return data;
}

template <class L, class Z>
static inline void buffer_of(L* l, lt_dtype dt, lt_value* out, bool top) {
  out->kind = LT_BUFFER;
  lt_buffer& b = out->u.buf;
  b.data = (void*)(l->liste.items->buffer + l->liste.home);
  b.len = l->liste.size();
  b.dtype = dt;
  b.owner = NULL;
  b.release = NULL;
  if (top && b.len > 0 && takeable(l)) {
    b.take = take_list<L, Z>;
    b.src = (void*)l;
  } else {
    b.take = NULL;
    b.src = NULL;
  }
}

/* ---- LispE -> lt_value ---- */

static bool list_value(LispE* lisp, Element* e, lt_value* out, std::unique_ptr<Scratch>& scratch,
                       std::string* why) {
  long n = e->size();
  lt_value* items = sc(scratch).values_for((size_t)n);
  for (long i = 0; i < n; i++) {
    if (!to_value(lisp, e->index(i), &items[i], scratch, false, why)) return false;
  }
  out->kind = LT_LIST;
  out->u.list.items = items;
  out->u.list.n = n;
  return true;
}

template <class D, class K>
static bool dict_value(LispE* lisp, D* d, lt_value* out, std::unique_ptr<Scratch>& scratch, std::string* why,
                       K keystr) {
  size_t n = d->dictionary.size();
  Scratch& s = sc(scratch);
  lt_value* vals = s.values_for(n);
  char** keys = s.keys_for(n);
  size_t i = 0;
  for (auto& kv : d->dictionary) {
    keys[i] = (char*)s.keep(keystr(kv.first));
    if (!to_value(lisp, kv.second, &vals[i], scratch, false, why)) return false;
    i++;
  }
  out->kind = LT_DICT;
  out->u.dict.keys = keys;
  out->u.dict.vals = vals;
  out->u.dict.n = (int64_t)n;
  out->u.dict.cap = (int64_t)n;
  return true;
}

static std::string number_key(double d) {
  char buf[64];
  snprintf(buf, sizeof buf, "%.17g", d);
  return buf;
}

bool to_value(LispE* lisp, Element* e, lt_value* out, std::unique_ptr<Scratch>& scratch, bool top,
              std::string* why) {
  if (is_handle_type(e->type)) { /* the usual argument first */
    out->kind = LT_HANDLE;
    out->u.h = ((LtHandle*)e)->h;  // borrowed
    return true;
  }
  switch (e->type) {
  case t_integer:
    out->kind = LT_INT;
    out->u.i = ((Integer*)e)->content;
    return true;
  case t_number:
    out->kind = LT_FLOAT;
    out->u.f = ((Number*)e)->content;
    return true;
  case t_float:
    out->kind = LT_FLOAT;
    out->u.f = ((Float*)e)->content;
    return true;
  case t_short:
    out->kind = LT_INT;
    out->u.i = ((Short*)e)->content;
    return true;
  case t_floats:
    buffer_of<Floats, float>((Floats*)e, LT_F32, out, top);
    return true;
  case t_numbers:
    buffer_of<Numbers, double>((Numbers*)e, LT_F64, out, top);
    return true;
  case t_integers:
    static_assert(sizeof(long) == 8, "LispE's integers must be 64-bit");
    buffer_of<Integers, long>((Integers*)e, LT_I64, out, top);
    return true;
  case t_shorts:
    buffer_of<Shorts, int16_t>((Shorts*)e, LT_I16, out, top);
    return true;
  case t_atom:
    switch (e->label()) {
    case v_null:
      *out = lt_nil();
      return true;
    case v_true:
      *out = lt_bool(1);
      return true;
    case v_false:
      *out = lt_bool(0);
      return true;
    default:
      if (e->isExecutable(lisp)) {
        /* a function name: (prim 'f) */
        out->kind = LT_CALLABLE;
        out->u.call.fn = (void*)e;
        out->u.call.env = (void*)lisp;
        return true;
      }
      /* another atom: its name */
      {
        const char* s = sc(scratch).keep(utf8(e->asUString(lisp)));
        out->kind = LT_STRING;
        out->u.str.s = s;
        out->u.str.len = strlen(s);
        out->u.str.owned = 0;
      }
      return true;
    }
  case t_stringbyte: {
    const std::string& s = ((Stringbyte*)e)->content;
    out->kind = LT_STRING;
    out->u.str.s = s.c_str();
    out->u.str.len = s.size();
    out->u.str.owned = 0;
    return true;
  }
  case t_dictionary:
    return dict_value(lisp, (Dictionary*)e, out, scratch, why, [](const u_ustring& k) { return utf8(k); });
  case t_dictionaryi:
    return dict_value(lisp, (Dictionary_i*)e, out, scratch, why, [](long k) { return std::to_string(k); });
  case t_dictionaryn:
    return dict_value(lisp, (Dictionary_n*)e, out, scratch, why, [](double k) { return number_key(k); });
  case t_list:
    if (e->isLambda()) break;  /* a (lambda ...) is a list too: a function below */
    return list_value(lisp, e, out, scratch, why);
  case t_llist:
  case t_strings:
  case t_stringbytes:
    return list_value(lisp, e, out, scratch, why);
  default:
    break;
  }
  if (e->isString()) {
    const char* s = sc(scratch).keep(utf8(e->asUString(lisp)));
    out->kind = LT_STRING;
    out->u.str.s = s;
    out->u.str.len = strlen(s);
    out->u.str.owned = 0;
    return true;
  }
  if (e->isLambda() || e->isOperator() || e->isFunction()) {
    out->kind = LT_CALLABLE;
    out->u.call.fn = (void*)e;
    out->u.call.env = (void*)lisp;
    return true;
  }
  if (e == lisp->n_emptylist) {
    out->kind = LT_LIST;
    out->u.list.items = NULL;
    out->u.list.n = 0;
    return true;
  }
  if (e->isError()) {
    *why = "is an error value: " + e->toString(lisp);
    return false;
  }
  if (e->isList()) return list_value(lisp, e, out, scratch, why);
  /* anything else (a class instance, a tokenizer object of a script ...)
   * goes through untouched: a callback's data gets it back as it was */
  out->kind = LT_OPAQUE;
  out->u.call.fn = (void*)e;
  out->u.call.env = (void*)lisp;
  return true;
}

/* ---- lt_value -> LispE ---- */

template <class L, class Z>
static Element* fill_list(L* l, const Z* src, int64_t n) {
  l->liste.clear();
  l->liste.reserve(n);
  if (n) memcpy(l->liste.items->buffer, src, sizeof(Z) * (size_t)n);
  l->liste.items->last = n;
  return l;
}

template <class L, class Z, class S>
static Element* convert_list(L* l, const S* src, int64_t n) {
  l->liste.clear();
  l->liste.reserve(n);
  Z* dst = l->liste.items->buffer;
  for (int64_t i = 0; i < n; i++) dst[i] = (Z)src[i];
  l->liste.items->last = n;
  return l;
}

static Element* from_buffer(LispE* lisp, const lt_buffer& b) {
  int64_t n = b.len;
  switch (b.dtype) {
  case LT_F32: return fill_list<Floats, float>(lisp->provideFloats(), (const float*)b.data, n);
  case LT_F64: return fill_list<Numbers, double>(lisp->provideNumbers(), (const double*)b.data, n);
  case LT_I64: return fill_list<Integers, long>(lisp->provideIntegers(), (const long*)b.data, n);
  case LT_I16: return fill_list<Shorts, int16_t>(new Shorts(), (const int16_t*)b.data, n);
  case LT_I32: return convert_list<Integers, long>(lisp->provideIntegers(), (const int32_t*)b.data, n);
  case LT_I8: return convert_list<Integers, long>(lisp->provideIntegers(), (const int8_t*)b.data, n);
  case LT_U8:
  case LT_BOOL8: return convert_list<Integers, long>(lisp->provideIntegers(), (const uint8_t*)b.data, n);
  default:
    /* F16/BF16 never reach here (the C side converts them to float32) */
    throw_error("lispe_torch: cannot convert a buffer of dtype " + std::string(lt_dtype_name(b.dtype)));
  }
}

Element* from_value(LispE* lisp, lt_value* v) {
  switch (v->kind) {
  case LT_NIL: return lisp->n_null;
  case LT_BOOL: return booleans_[v->u.b != 0];
  case LT_INT: return lisp->provideInteger((long)v->u.i);
  case LT_FLOAT: return lisp->provideNumber(v->u.f);
  case LT_STRING: {
    std::string s(v->u.str.s, v->u.str.len);
    return lisp->provideString(s);
  }
  case LT_BUFFER: return from_buffer(lisp, v->u.buf);
  case LT_LIST: {
    List* l = lisp->provideList();
    for (int64_t i = 0; i < v->u.list.n; i++) l->append(from_value(lisp, &v->u.list.items[i]));
    return l;
  }
  case LT_DICT: {
    Dictionary* d = lisp->provideDictionary();
    for (int64_t i = 0; i < v->u.dict.n; i++) {
      u_ustring k = ustr(v->u.dict.keys[i]);
      d->recording(k, from_value(lisp, &v->u.dict.vals[i]));
    }
    return d;
  }
  case LT_HANDLE: {
    LtHandle* h = new LtHandle(v->u.h);
    v->kind = LT_NIL;  // the LispE object owns the reference now
    return h;
  }
  case LT_CALLABLE:
  case LT_OPAQUE: return (Element*)v->u.call.fn;
  }
  return lisp->n_null;
}

}  // namespace lt_lispe
