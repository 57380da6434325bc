// jit.cpp - section 13: TorchScript modules (torch.jit.save archives): load,
// run any method, read and update their tensors, move them, LoRA on their
// linear layers, and the outputs of named submodules during forward.
#include <torch/csrc/jit/api/function_impl.h>
#include <torch/script.h>
#include <map>
#include "nn_internal.h"

struct lts_jit {
  std::unique_ptr<torch::jit::Module> m;  // null once unloaded
  // LoRA layers by submodule path (their tensors: A, B, scaling)
  std::map<std::string, std::shared_ptr<lts::LtModule>> lora;
  std::atomic<int> refs{1};
};

namespace lts {
namespace {

std::atomic<int64_t> live_jit{0};

torch::jit::Module &J(lts_jit *j) {
  if (!j->m) throw std::invalid_argument("the TorchScript module was unloaded");
  return *j->m;
}

std::vector<c10::IValue> inputs(lts_tensor *const *in, int n) {
  std::vector<c10::IValue> v;
  for (int i = 0; i < n; i++) v.emplace_back(at::Tensor(T(in[i])));
  return v;
}

// a method's result as tensors: a tensor, or a tuple/list of tensors
void flatten(const c10::IValue &v, std::vector<at::Tensor> &out) {
  if (v.isTensor()) out.push_back(v.toTensor());
  else if (v.isTuple())
    for (auto &e : v.toTupleRef().elements()) flatten(e, out);
  else if (v.isTensorList())
    for (const at::Tensor &t : v.toTensorVector()) out.push_back(t);
  else if (v.isList())
    for (const c10::IValue &e : v.toListRef()) flatten(e, out);
  else throw std::invalid_argument("the method returned a " + v.tagKind() + ", not tensors");
}

// the submodule at a dotted path, or throws
torch::jit::Module sub(torch::jit::Module &m, const std::string &path) {
  torch::jit::Module cur = m;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur.hasattr(part) || !cur.attr(part).isModule()) throw std::invalid_argument("the module has no submodule " + path);
    cur = cur.attr(part).toModule();
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return cur;
}

// the tensor (parameter or buffer) at a dotted name
at::Tensor named(torch::jit::Module &m, const std::string &name, bool buffers_only) {
  for (const auto &b : m.named_buffers())
    if (b.name == name) return b.value;
  if (!buffers_only)
    for (const auto &p : m.named_parameters())
      if (p.name == name) return p.value;
  throw std::invalid_argument(std::string("the module has no ") + (buffers_only ? "buffer " : "tensor ") + name);
}

// runs forward with each LoRA layer's W + scaling · B A in place of W (as an
// attribute holding a tensor that carries autograd to A and B), then puts W back
c10::IValue forward_lora(lts_jit *j, std::vector<c10::IValue> in) {
  torch::jit::Module &m = J(j);
  std::vector<std::pair<torch::jit::Module, at::Tensor>> saved;
  try {
    for (auto &kv : j->lora) {
      torch::jit::Module s = sub(m, kv.first);
      at::Tensor w = s.attr("weight").toTensor();
      saved.emplace_back(s, w);
      s.setattr("weight", w.detach() + lora_delta(*kv.second));
    }
    c10::IValue r = m.forward(std::move(in));
    for (auto &sv : saved) sv.first.setattr("weight", sv.second);
    return r;
  } catch (...) {
    for (auto &sv : saved) sv.first.setattr("weight", sv.second);
    throw;
  }
}

// The forward call of each submodule reachable from the graph's top level,
// by dotted path ("" is the module itself); the last call wins.
std::map<std::string, torch::jit::Node *> submodule_calls(torch::jit::Graph &g) {
  std::map<torch::jit::Value *, std::string> path;  // module values -> their dotted path
  path[g.inputs()[0]] = "";
  std::map<std::string, torch::jit::Node *> calls;
  for (torch::jit::Node *n : g.nodes()) {
    if (n->kind() == c10::prim::GetAttr && path.count(n->input(0))) {
      std::string p = path[n->input(0)];
      path[n->output()] = (p.empty() ? "" : p + ".") + n->s(c10::attr::name);
    } else if (n->kind() == c10::prim::CallMethod && n->s(c10::attr::name) == "forward" && path.count(n->input(0))) {
      calls[path[n->input(0)]] = n;
    }
  }
  return calls;
}

// forward, returning besides its result the outputs of the named
// submodules: the forward graph gets those values as extra outputs. A
// nested name (encoder.blocks.1.fc) is reached by inlining the forward of
// its nearest called ancestor into the graph, as often as it takes.
std::vector<at::Tensor> intermediates(torch::jit::Module &m, std::vector<c10::IValue> in, const std::vector<std::string> &names) {
  auto g = m.get_method("forward").graph()->copy();
  std::map<std::string, torch::jit::Value *> found;  // survives the inlining of its own call
  for (bool again = true; again;) {
    again = false;
    auto calls = submodule_calls(*g);
    for (auto &kv : calls) found[kv.first] = kv.second->output();
    for (auto &nm : names) {
      if (calls.count(nm) || found.count(nm)) continue;
      torch::jit::Node *anc = nullptr;
      size_t best = 0;
      for (auto &kv : calls)
        if (nm.size() > kv.first.size() + 1 && nm.compare(0, kv.first.size() + 1, kv.first + ".") == 0 &&
            kv.first.size() >= best) {
          anc = kv.second;
          best = kv.first.size();
        }
      if (!anc) continue;
      auto cls = anc->input(0)->type()->expect<c10::ClassType>();
      torch::jit::GraphFunction &callee = torch::jit::toGraphFunction(cls->getMethod("forward"));
      torch::jit::Value *was = anc->output();  // anc is gone after inlining
      // the unoptimised graph: the optimised one has its own calls inlined already
      std::vector<torch::jit::Value *> outs = torch::jit::inlineCallTo(anc, &callee, callee.graph().get());
      for (auto &kv : found)
        if (kv.second == was) kv.second = outs.at(0);
      again = true;
      break;
    }
  }
  std::vector<torch::jit::Value *> extra;
  for (auto &nm : names) {
    auto it = found.find(nm);
    if (it == found.end() || nm.empty())
      throw std::invalid_argument("forward calls no submodule " + nm + " (outside loops and branches)");
    extra.push_back(it->second);
  }
  torch::jit::Value *result = g->outputs()[0];
  std::vector<torch::jit::Value *> all{result};
  all.insert(all.end(), extra.begin(), extra.end());
  torch::jit::Node *tup = g->createTuple(all);
  g->appendNode(tup);
  g->eraseOutput(0);
  g->registerOutput(tup->output());
  torch::jit::GraphFunction fn("lts_intermediates", g, nullptr);
  std::vector<c10::IValue> stack{m._ivalue()};
  for (auto &v : in) stack.push_back(std::move(v));
  fn.run(stack);
  std::vector<at::Tensor> res;
  auto elems = stack.back().toTupleRef().elements();
  for (size_t i = 1; i < elems.size(); i++) {
    if (!elems[i].isTensor()) throw std::invalid_argument("submodule " + names[i - 1] + " does not return a tensor");
    res.push_back(elems[i].toTensor());
  }
  return res;
}

}  // namespace
}  // namespace lts

using lts::J;
using lts::T;
using lts::wrap;

extern "C" {

int lts_jit_load(const char *path, const char *device, lts_jit **out) {
  LTS_TRY({
    auto *j = new lts_jit();
    try {
      j->m = std::make_unique<torch::jit::Module>(device ? torch::jit::load(path, c10::Device(device)) : torch::jit::load(path));
      j->m->eval();
    } catch (...) {
      delete j;
      throw;
    }
    lts::live_jit.fetch_add(1);
    *out = j;
  })
}

void lts_jit_free(lts_jit *j) {
  if (j && j->refs.fetch_sub(1) == 1) {
    lts::live_jit.fetch_sub(1);
    delete j;
  }
}

int lts_jit_ref(lts_jit *j, lts_jit **out) {
  j->refs.fetch_add(1);
  *out = j;
  return 0;
}

int64_t lts_live_jit(void) { return lts::live_jit.load(); }

int lts_jit_unload(lts_jit *j) {
  LTS_TRY({
    J(j);
    j->m.reset();
    j->lora.clear();
  })
}

int lts_jit_run(lts_jit *j, const char *method, lts_tensor *const *in, int n, int with_lora, lts_tensor ***outs, int64_t *nout) {
  LTS_TRY({
    torch::jit::Module &m = J(j);
    std::string name = method ? method : "forward";
    if (!m.find_method(name)) throw std::invalid_argument("the module has no method " + name);
    c10::IValue r;
    if (with_lora) {
      if (name != "forward") throw std::invalid_argument("LoRA applies to forward only");
      r = lts::forward_lora(j, lts::inputs(in, n));
    } else {
      r = m.get_method(name)(lts::inputs(in, n));
    }
    std::vector<at::Tensor> res;
    lts::flatten(r, res);
    *outs = lts::tensor_array(res);
    *nout = (int64_t)res.size();
  })
}

int lts_jit_names(lts_jit *j, lts_jit_names_kind what, char ***names, int64_t *n) {
  LTS_TRY({
    torch::jit::Module &m = J(j);
    std::vector<std::string> v;
    if (what == LTS_JIT_METHODS)
      for (const auto &meth : m.get_methods()) v.push_back(meth.name());
    if (what == LTS_JIT_PARAMETERS || what == LTS_JIT_TENSORS)
      for (const auto &p : m.named_parameters()) v.push_back(p.name);
    if (what == LTS_JIT_BUFFERS || what == LTS_JIT_TENSORS)
      for (const auto &b : m.named_buffers()) v.push_back(b.name);
    *names = lts::string_array(v);
    *n = (int64_t)v.size();
  })
}

int lts_jit_tensor(lts_jit *j, const char *name, int buffers_only, lts_tensor **out) {
  LTS_OUT(lts::named(J(j), name, buffers_only != 0))
}

int lts_jit_update(lts_jit *j, const char *name, lts_tensor *value) {
  LTS_TRY({
    at::Tensor t = lts::named(J(j), name, false);
    const at::Tensor &v = T(value);
    if (v.sizes() != t.sizes())
      throw std::invalid_argument("tensor " + std::string(name) + " has shape " + c10::str(t.sizes()) + ", got " + c10::str(v.sizes()));
    at::NoGradGuard nograd;
    t.copy_(v);
  })
}

int lts_jit_to(lts_jit *j, const char *device) {
  LTS_TRY({
    c10::Device d(device);
    J(j).to(d);
    for (auto &kv : j->lora) kv.second->to(d);
  })
}

void lts_jit_device(lts_jit *j, char *buf, size_t n) {
  std::string d = "none";
  if (j->m) {
    for (const auto &p : j->m->parameters()) {
      d = p.device().str();
      break;
    }
    if (d == "none")
      for (const auto &b : j->m->buffers()) {
        d = b.device().str();
        break;
      }
  }
  snprintf(buf, n, "%s", d == "none" ? "cpu" : d.c_str());
}

int lts_jit_register_lora(lts_jit *j, const char *layer, lts_module *lora) {
  LTS_TRY({
    torch::jit::Module s = lts::sub(J(j), layer);
    if (!s.hasattr("weight") || !s.attr("weight").isTensor())
      throw std::invalid_argument(std::string("submodule ") + layer + " has no weight tensor");
    if (lora->mod->kind != LTS_M_LORA) throw std::invalid_argument("the adapter must be a LoRA layer (torch_lora_linear)");
    at::Tensor w = s.attr("weight").toTensor(), a, b;
    for (auto &p : lora->mod->named_parameters()) (p.key() == "lora_A" ? a : b) = p.value();
    if (w.dim() != 2 || a.size(1) != w.size(1) || b.size(0) != w.size(0))
      throw std::invalid_argument(std::string("a LoRA layer for [") + std::to_string(b.size(0)) + ", " + std::to_string(a.size(1)) +
                                  "] does not fit " + layer + ".weight " + c10::str(w.sizes()));
    j->lora[layer] = lora->mod;
  })
}

int lts_jit_intermediates(lts_jit *j, lts_tensor *const *in, int n, const char *const *names, int nn, lts_tensor **outs) {
  LTS_TRY({
    std::vector<std::string> v(names, names + nn);
    auto r = lts::intermediates(J(j), lts::inputs(in, n), v);
    for (size_t i = 0; i < r.size(); i++) outs[i] = wrap(r[i]);
  })
}

int lts_jit_info(lts_jit *j, int64_t *params, int64_t *buffers, int64_t *values, int64_t *methods, int *training) {
  LTS_TRY({
    torch::jit::Module &m = J(j);
    *params = *buffers = *values = *methods = 0;
    for (const auto &p : m.parameters()) {
      (*params)++;
      *values += p.numel();
    }
    for (const auto &b : m.buffers()) {
      (*buffers)++;
      *values += b.numel();
    }
    *methods = (int64_t)m.get_methods().size();
    *training = m.is_training();
  })
}

}  // extern "C"
