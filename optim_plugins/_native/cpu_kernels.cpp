// One-pass CPU kernels for the rules torch has no fused kernel for (AdamAL, AdaShift).
//
// Each function updates contiguous tensors in place, reading and writing every element once: AdamAL
// and ADOPT all tensors of a group in one call, and so does AdaShift.
// It computes the formulas of the reference path in optim_plugins (see the docstrings of adam.py
// and adashift.py) in the state's dtype, with its constants (1 - beta2, lr / bias_correction1, ...)
// computed in double and rounded once, as torch rounds the Python scalars the reference path passes. Compiled on first use by
// optim_plugins/_native/__init__.py. The Python side checks shapes, dtypes and contiguity, and every
// entry point checks them again (TORCH_CHECK, a Python RuntimeError) so no input can make a loop
// read or write out of bounds.
#include <torch/extension.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <tuple>
#include <type_traits>
#include <vector>

namespace {

constexpr int64_t kGrain = 1 << 15;

// `t` is a contiguous CPU tensor of `numel` elements and (if dtype is given) of that dtype.
void check_buffer(const at::Tensor& t, const char* name, int64_t numel,
                  c10::optional<at::ScalarType> dtype = c10::nullopt) {
  TORCH_CHECK(t.device().is_cpu() && t.is_contiguous(), "optim_plugins kernel: ", name,
              " must be a contiguous CPU tensor");
  TORCH_CHECK(t.numel() == numel, "optim_plugins kernel: ", name, " has ", t.numel(),
              " elements, expected ", numel);
  TORCH_CHECK(!dtype || t.scalar_type() == *dtype, "optim_plugins kernel: ", name, " has dtype ",
              t.scalar_type(), ", expected ", *dtype);
}

// The parameter and the tensors shaped like it (same numel and dtype); returns numel.
int64_t check_like_param(const at::Tensor& p, std::initializer_list<std::pair<const at::Tensor*, const char*>> others) {
  TORCH_CHECK(p.scalar_type() == at::kFloat || p.scalar_type() == at::kDouble,
              "optim_plugins kernel: parameter dtype must be float32 or float64, got ", p.scalar_type());
  check_buffer(p, "param", p.numel());
  for (const auto& [t, name] : others) check_buffer(*t, name, p.numel(), p.scalar_type());
  return p.numel();
}

// A window of keep_num slots of numel elements each, and a slot inside it.
void check_window(const at::Tensor& window, int64_t slot, int64_t numel) {
  TORCH_CHECK(window.dim() >= 1 && window.size(0) >= 1, "optim_plugins kernel: window has no slots");
  check_buffer(window, "window", window.size(0) * numel);
  TORCH_CHECK(slot >= 0 && slot < window.size(0), "optim_plugins kernel: slot ", slot, " outside the window of ",
              window.size(0));
}

template <typename T>
inline T nan_propagating_max(T a, T b) {  // torch.maximum's semantics: NaN wins
  return (b != b || b > a) ? b : a;
}

// AdamAL: m = lerp(m, g, 1 - beta1); v = max(v, beta2 v + (1 - beta2) g^2);
// p -= lr / bc1 * m / (sqrt(v) / bc2_sqrt + eps). g includes coupled weight decay; decoupled decay
// multiplies p by (1 - lr wd) first.
template <typename T>
void adamal_loop(T* __restrict__ p, const T* __restrict__ g, T* __restrict__ m, T* __restrict__ v,
                 int64_t begin, int64_t end, T one_minus_beta1, T beta2, T one_minus_beta2, T eps,
                 T coupled_wd, T decay, T step_size, T bc2_sqrt) {
#pragma omp simd
  for (int64_t i = begin; i < end; ++i) {
    T param = p[i] * decay;
    const T grad = g[i] + coupled_wd * p[i];
    const T mi = m[i] + one_minus_beta1 * (grad - m[i]);
    const T candidate = beta2 * v[i] + one_minus_beta2 * grad * grad;
    const T vi = nan_propagating_max(v[i], candidate);
    m[i] = mi;
    v[i] = vi;
    p[i] = param - step_size * mi / (std::sqrt(vi) / bc2_sqrt + eps);
  }
}

// The frame of the AdamAL and ADOPT kernels, over all tensors of a group in one call: buffer
// checks, dtype dispatch, weight decay as (coupled, decay) and parallel chunks. The elements of the tensors, end to end, are
// cut into chunks of about kGrain run in parallel (a chunk may span several small tensors, a large
// tensor spans several chunks), so a model of many small tensors pays one call, not one per tensor.
template <typename Loop>
void group_moments_step(std::vector<at::Tensor>& p, std::vector<at::Tensor>& g, std::vector<at::Tensor>& m,
                        std::vector<at::Tensor>& v, double lr, double weight_decay, bool decoupled, Loop&& loop) {
  const size_t n = p.size();
  TORCH_CHECK(g.size() == n && m.size() == n && v.size() == n, "optim_plugins kernel: lists of different lengths");
  if (n == 0) return;
  std::vector<int64_t> starts(n + 1, 0);
  for (size_t t = 0; t < n; ++t) {
    check_like_param(p[t], {{&g[t], "grad"}, {&m[t], "exp_avg"}, {&v[t], "exp_avg_sq"}});
    TORCH_CHECK(p[t].scalar_type() == p[0].scalar_type(), "optim_plugins kernel: parameters of different dtypes");
    starts[t + 1] = starts[t] + p[t].numel();
  }
  AT_DISPATCH_FLOATING_TYPES(p[0].scalar_type(), "group_moments_step", [&] {
    using T = scalar_t;
    const T coupled = decoupled ? T(0) : T(weight_decay);
    const T decay = decoupled ? T(1 - lr * weight_decay) : T(1);
    at::parallel_for(0, starts[n], kGrain, [&](int64_t begin, int64_t end) {
      size_t t = std::upper_bound(starts.begin(), starts.end(), begin) - starts.begin() - 1;
      for (; t < n && starts[t] < end; ++t) {
        const int64_t lo = std::max(begin, starts[t]) - starts[t], hi = std::min(end, starts[t + 1]) - starts[t];
        if (lo < hi) {
          loop(p[t].data_ptr<T>(), g[t].data_ptr<T>(), m[t].data_ptr<T>(), v[t].data_ptr<T>(), lo, hi, coupled, decay);
        }
      }
    });
  });
}

void adamal_group_step(std::vector<at::Tensor> p, std::vector<at::Tensor> g, std::vector<at::Tensor> m,
                       std::vector<at::Tensor> v, double lr, double beta1, double beta2, double eps,
                       double weight_decay, bool decoupled, double bias_correction1, double bias_correction2_sqrt) {
  group_moments_step(p, g, m, v, lr, weight_decay, decoupled, [&](auto* pp, const auto* gp, auto* mp, auto* vp,
                                                                  int64_t begin, int64_t end, auto coupled, auto decay) {
    using T = decltype(coupled);
    adamal_loop<T>(pp, gp, mp, vp, begin, end, T(1 - beta1), T(beta2), T(1 - beta2), T(eps), coupled, decay,
                   T(lr / bias_correction1), T(bias_correction2_sqrt));
  });
}

// ADOPT: g includes coupled weight decay. First call: v += g^2 and nothing else. Later calls:
// p *= decay; m = lerp(m, clamp(g / max(sqrt(v), eps), -bound, bound), 1 - beta1); p -= lr m;
// v = beta2 v + (1 - beta2) g^2 (after its use).
template <typename T>
void adopt_loop(T* __restrict__ p, const T* __restrict__ g, T* __restrict__ m, T* __restrict__ v,
                int64_t begin, int64_t end, bool first, T one_minus_beta1, T beta2, T one_minus_beta2, T eps,
                T coupled_wd, T decay, T lr, T bound) {
  if (first) {
    for (int64_t i = begin; i < end; ++i) {
      const T grad = g[i] + coupled_wd * p[i];
      v[i] += grad * grad;
    }
    return;
  }
  for (int64_t i = begin; i < end; ++i) {
    const T param = p[i] * decay;
    const T grad = g[i] + coupled_wd * p[i];
    const T normalised = std::min(std::max(grad / std::max(std::sqrt(v[i]), eps), -bound), bound);
    const T mi = m[i] + one_minus_beta1 * (normalised - m[i]);
    m[i] = mi;
    p[i] = param - lr * mi;
    v[i] = v[i] * beta2 + one_minus_beta2 * grad * grad;
  }
}

void adopt_group_step(std::vector<at::Tensor> p, std::vector<at::Tensor> g, std::vector<at::Tensor> m,
                      std::vector<at::Tensor> v, double lr, double beta1, double beta2, double eps,
                      double weight_decay, bool decoupled, bool first, double bound) {
  group_moments_step(p, g, m, v, lr, weight_decay, decoupled, [&](auto* pp, const auto* gp, auto* mp, auto* vp,
                                                                  int64_t begin, int64_t end, auto coupled, auto decay) {
    using T = decltype(coupled);
    adopt_loop<T>(pp, gp, mp, vp, begin, end, first, T(1 - beta1), T(beta2), T(1 - beta2), T(eps), coupled, decay,
                  T(lr), static_cast<T>(bound));
  });
}

// The window's element type: float and double as they are, bf16 as its raw bits (so the loops
// vectorize; rounding to nearest even as c10::BFloat16 does, NaN -> 0x7FC0), half through c10.
template <typename W> struct Window {
  using Storage = W;
  template <typename T> static inline T load(W x) { return static_cast<T>(x); }
  template <typename T> static inline W store(T x) { return static_cast<W>(x); }
};

template <> struct Window<at::BFloat16> {
  using Storage = uint16_t;
  template <typename T> static inline T load(uint16_t x) {
    const uint32_t bits = static_cast<uint32_t>(x) << 16;
    float value;
    std::memcpy(&value, &bits, sizeof(value));
    return static_cast<T>(value);
  }
  template <typename T> static inline uint16_t store(T x) {
    const float value = static_cast<float>(x);
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof(bits));
    const uint32_t rounded = (bits + UINT32_C(0x7FFF) + ((bits >> 16) & 1)) >> 16;
    return value != value ? uint16_t(0x7FC0) : static_cast<uint16_t>(rounded);
  }
};

template <typename W>
typename Window<W>::Storage* window_data(at::Tensor& window) {
  return reinterpret_cast<typename Window<W>::Storage*>(window.data_ptr<W>());
}

// The window move shared by the AdaShift kernels: the slot holding g_{t-n} receives g_t (rounded
// to the window's dtype) and S = beta1 S - beta1^n g_{t-n} + g_t (the stored, rounded g_t), so S
// stays the beta1-weighted sum of what the window holds. Coupled weight decay is already in g (the
// caller adds it), so the kernels never read p into the gradient: a non-finite p cannot leak into
// the window. Without a running sum (HasSum false: beta1 = 0, the lean layout) m is g itself.
#define ADASHIFT_MOVE_WINDOW(HAS_SUM)                                          \
  const T grad = g[i];                                                         \
  const T oldest = Window<W>::template load<T>(slot[i]);                       \
  const auto rounded = Window<W>::template store<T>(grad);                     \
  slot[i] = rounded;                                                           \
  const T stored = Window<W>::template load<T>(rounded);                       \
  T s = grad;                                                                  \
  if constexpr (HAS_SUM) {                                                     \
    s = window_sum[i] * beta1 - beta1_n * oldest + stored;                     \
    window_sum[i] = s;                                                         \
  }

struct AdaShiftScalars {  // in the state's dtype T, computed in double and rounded once
  double step, lr, beta1, beta1_n, beta2, eps, decay, inv_normaliser;
};

// AdaShift, reduce "none": per element v, activation step ("since") and gate.
//   v = beta2 v + (1 - beta2) g_{t-n}^2;  since = step when v first turns nonzero (positive, or NaN);
//   k = step - since + 1 (0 while off);  table[k] = 1 / sqrt(bc2), bc2 = max(1e-8, 1 - beta2^k) (the caller's
//   table covers every k up to step, or is saturated at 1 beyond its end);
//   p -= lr * (S / normaliser) / (sqrt(v) / sqrt(bc2) + eps) where k > 0.
// Mode kActivating is the general loop: it writes since and gathers how many elements are still
// off and their first/last activation step. Once every element is on, since never changes again
// and the caller picks a loop that only reads it (kActive) or, when all turned on at the same
// step, one that does not touch it (kUniform, one value of the table). The loops are branch-free so they vectorize.
enum Mode : int64_t { kActivating = 0, kActive = 1, kUniform = 2 };

struct ActivationStats {
  int64_t still_off = 0;
  int64_t first_on = std::numeric_limits<int32_t>::max(), last_on = 0;
};

// table[k] for a block of indices, kept scalar on purpose: vectorized as AVX2 gathers it ran
// several times slower on the machines we measured.
template <typename T>
__attribute__((noinline, optimize("no-tree-vectorize")))
void lookup(const int32_t* __restrict__ index, const T* __restrict__ table, T* __restrict__ out, int64_t n) {
  for (int64_t j = 0; j < n; ++j) out[j] = table[index[j]];
}

// The gate and the parameter update of every loop below and of adashift_fix_off, written once:
// k = steps with the gate open, as an index into the table; p decay - lr m / (sqrt(v) / sqrt(bc2) + eps).
template <typename T>
inline T adashift_since(T on, T v, T step) {  // the step the gate opened: now, when v turns nonzero (or NaN)
  return (on == T(0) && v != T(0)) ? step : on;
}

template <typename T>
inline int32_t adashift_open_steps(T on, T step, int32_t table_last) {
  // k in 1 .. table_last where on (a corrupt since > step counts as off: never out of bounds)
  const T age = std::min(step - on, T(table_last));
  const int32_t k = (on > T(0) && age >= T(0)) ? static_cast<int32_t>(age) + 1 : 0;
  return k < table_last ? k : table_last;
}

template <typename T>
inline T adashift_new_param(T p, T decay, T lr, T m, T v, T rsqrt_bc2, T eps, bool open) {
  const T update = lr * m / (std::sqrt(v) * rsqrt_bc2 + eps);
  return p * decay - (open ? update : T(0));
}

// no-tree-loop-distribute-patterns: where the window holds T itself, GCC otherwise splits the
// kUniform loop in two, the window's store becoming a memcpy of g after the loop (a second pass
// over g and the slot).
template <typename T, typename W, int64_t mode, bool HasSum>
__attribute__((optimize("no-tree-loop-distribute-patterns")))
ActivationStats adashift_elementwise_loop(T* __restrict__ p, const T* __restrict__ g,
                                          typename Window<W>::Storage* __restrict__ slot,
                                          T* __restrict__ window_sum, T* __restrict__ v,
                                          T* __restrict__ since, const T* __restrict__ table,
                                          int32_t table_last, int64_t begin, int64_t end,
                                          const AdaShiftScalars& c, T uniform_rsqrt_bc2) {
  const T step = T(c.step), lr = T(c.lr), beta1 = T(c.beta1), beta1_n = T(c.beta1_n);
  const T beta2 = T(c.beta2), one_minus_beta2 = T(1 - c.beta2), eps = T(c.eps);
  const T decay = T(c.decay), inv_normaliser = T(c.inv_normaliser);
  // Every loop computes the update with the same operations in the same order, so which one runs
  // never changes the result (a resumed run, which starts in kActivating, stays bit-exact).
  if constexpr (mode == kUniform) {
    for (int64_t i = begin; i < end; ++i) {
      ADASHIFT_MOVE_WINDOW(HasSum)
      const T vi = beta2 * v[i] + one_minus_beta2 * oldest * oldest;
      v[i] = vi;
      const T m = HasSum ? s * inv_normaliser : s;
      p[i] = adashift_new_param(p[i], decay, lr, m, vi, uniform_rsqrt_bc2, eps, true);
    }
    return ActivationStats{};
  } else {
    // Blocks of kBlock elements in three passes (the 2nd and 3rd re-read the block from L1): the
    // window, v, since and k; the table lookups; the parameter update.
    constexpr int64_t kBlock = 256;
    int32_t k_block[kBlock];
    T rsqrt_bc2_block[kBlock];
    int32_t off = 0, first = std::numeric_limits<int32_t>::max(), last = 0;
    for (int64_t b = begin; b < end; b += kBlock) {
      const int64_t n = std::min(end - b, kBlock);
      for (int64_t j = 0; j < n; ++j) {
        const int64_t i = b + j;
        ADASHIFT_MOVE_WINDOW(HasSum)
        const T vi = beta2 * v[i] + one_minus_beta2 * oldest * oldest;
        v[i] = vi;
        T on = since[i];
        if constexpr (mode == kActivating) {
          on = adashift_since(on, vi, step);  // != 0: NaN opens the gate, as on the reference path
          since[i] = on;
        }
        k_block[j] = adashift_open_steps(on, step, table_last);
      }
      if constexpr (mode == kActivating) {
        for (int64_t j = 0; j < n; ++j) {
          const int32_t on_step = static_cast<int32_t>(since[b + j]);
          off += (on_step == 0);
          first = std::min(first, on_step > 0 ? on_step : std::numeric_limits<int32_t>::max());
          last = std::max(last, on_step);
        }
      }
      lookup<T>(k_block, table, rsqrt_bc2_block, n);
      for (int64_t j = 0; j < n; ++j) {
        const int64_t i = b + j;
        const T m = HasSum ? window_sum[i] * inv_normaliser : g[i];
        p[i] = adashift_new_param(p[i], decay, lr, m, v[i], rsqrt_bc2_block[j], eps, k_block[j] > 0);
      }
    }
    return ActivationStats{off, first, last};
  }
}

// The elements a fast loop (kActive, kUniform) cannot take: those still off (active_since 0) in a
// tensor whose other elements are all on, listed by the caller (`off`: their indices). The fast loop
// has already moved their window and v (which do not depend on the gate) and, in kUniform, written p
// as if their gate were open; this starts again from p before the step (`saved`) and applies the
// general loop's formulas: the gate opens where v turned nonzero this step (k = 1). So a tensor
// with a few elements whose gradient stays zero (an embedding's padding row) need not run the
// general loop, which also writes active_since, every step.
template <typename T>
ActivationStats adashift_fix_off(T* __restrict__ p, const T* __restrict__ g, const T* __restrict__ window_sum,
                                 const T* __restrict__ v, T* __restrict__ since, const T* __restrict__ table,
                                 int32_t table_last, const int64_t* __restrict__ off, int64_t count,
                                 const T* __restrict__ saved, const AdaShiftScalars& c) {
  const T step = T(c.step), lr = T(c.lr), eps = T(c.eps), decay = T(c.decay), inv_normaliser = T(c.inv_normaliser);
  ActivationStats stats;
  for (int64_t j = 0; j < count; ++j) {
    const int64_t i = off[j];
    T on = since[i];
    on = adashift_since(on, v[i], step);
    since[i] = on;
    const int32_t k = adashift_open_steps(on, step, table_last);
    const T m = window_sum ? window_sum[i] * inv_normaliser : g[i];
    p[i] = adashift_new_param(saved[j], decay, lr, m, v[i], table[k], eps, k > 0);
    const int64_t on_step = static_cast<int32_t>(on);
    stats.still_off += (on_step == 0);
    stats.first_on = std::min<int64_t>(stats.first_on, on_step > 0 ? on_step : std::numeric_limits<int32_t>::max());
    stats.last_on = std::max(stats.last_on, on_step);
  }
  return stats;
}

// The AdaShift group steps' work items: the elements of each tensor in chunks of at most kGrain,
// each inside one tensor; for_each_chunk calls `run(index, chunk)` for every chunk, in parallel.
struct Chunk { size_t tensor; int64_t begin, end; };

void add_chunks(std::vector<Chunk>& chunks, size_t tensor, int64_t numel) {
  for (int64_t b = 0; b < numel; b += kGrain) chunks.push_back({tensor, b, std::min(numel, b + kGrain)});
}

template <typename Run>
void for_each_chunk(const std::vector<Chunk>& chunks, Run&& run) {
  at::parallel_for(0, static_cast<int64_t>(chunks.size()), 1, [&](int64_t first, int64_t last) {
    for (int64_t index = first; index < last; ++index) run(index, chunks[index]);
  });
}

// All tensors of a group in one call (as AdamAL and ADOPT): the elements are cut into chunks of at
// most kGrain, each inside one tensor, run in parallel, so many small tensors cost one call. Each
// tensor runs its own loop (`modes`, with `uniform_rsqrt_bc2` for kUniform). Returns, per tensor,
// (elements still off, first and last activation step among those on); meaningful in mode
// kActivating, or for a tensor with elements listed in `off` (see adashift_fix_off: int64 indices of the
// elements still off, in kActive or kUniform; empty for none), over those elements.
// `window_sum` None: the lean layout (beta1 = 0, m = g, no running sum).
std::vector<std::tuple<int64_t, double, double>> adashift_elementwise_group_step(
    std::vector<at::Tensor> p, std::vector<at::Tensor> g, std::vector<at::Tensor> window, int64_t slot,
    c10::optional<std::vector<at::Tensor>> window_sum, std::vector<at::Tensor> v, std::vector<at::Tensor> since,
    at::Tensor table, int64_t step, double lr, double beta1, double beta1_n, double beta2, double eps,
    double weight_decay, bool decoupled, double inv_normaliser, std::vector<int64_t> modes,
    std::vector<double> uniform_rsqrt_bc2, std::vector<at::Tensor> off) {
  const size_t n = p.size();
  const bool has_sum = window_sum.has_value();
  TORCH_CHECK(g.size() == n && window.size() == n && v.size() == n && since.size() == n && modes.size() == n &&
                  uniform_rsqrt_bc2.size() == n && off.size() == n && (!has_sum || window_sum->size() == n),
              "optim_plugins kernel: lists of different lengths");
  TORCH_CHECK(step >= 1 && step < std::numeric_limits<int32_t>::max() && table.numel() > 1, "AdaShift kernel: bad step/table");
  TORCH_CHECK(has_sum || beta1 == 0, "optim_plugins kernel: AdaShift without a running sum needs beta1 0");
  TORCH_CHECK(decoupled || weight_decay == 0, "AdaShift kernel: the caller adds coupled weight decay to g");
  std::vector<std::tuple<int64_t, double, double>> out(n, {0, 0.0, 0.0});
  if (n == 0) return out;
  std::vector<Chunk> chunks;
  for (size_t t = 0; t < n; ++t) {
    const at::Tensor& sums = has_sum ? (*window_sum)[t] : g[t];  // g: only for the checks
    const int64_t numel = check_like_param(p[t], {{&g[t], "grad"}, {&sums, "window_sum"}, {&v[t], "exp_avg_sq"},
                                                  {&since[t], "active_since"}});
    TORCH_CHECK(p[t].scalar_type() == p[0].scalar_type(), "optim_plugins kernel: parameters of different dtypes");
    TORCH_CHECK(window[t].scalar_type() == window[0].scalar_type(), "optim_plugins kernel: windows of different dtypes");
    check_window(window[t], slot, numel);
    TORCH_CHECK(modes[t] == kActivating || modes[t] == kActive || modes[t] == kUniform, "optim_plugins kernel: AdaShift mode ",
                modes[t], " is not one of its loops");
    TORCH_CHECK(off[t].dim() == 1 && off[t].scalar_type() == at::kLong && off[t].numel() <= numel,
                "optim_plugins kernel: off must be a 1-D int64 tensor of at most numel indices");
    check_buffer(off[t], "off", off[t].numel());
    TORCH_CHECK(off[t].numel() == 0 || modes[t] != kActivating, "optim_plugins kernel: off with the general loop");
    const int64_t* indices = off[t].data_ptr<int64_t>();
    for (int64_t j = 0; j < off[t].numel(); ++j) {
      TORCH_CHECK(indices[j] >= 0 && indices[j] < numel, "optim_plugins kernel: off index ", indices[j],
                  " outside a tensor of ", numel);
    }
    add_chunks(chunks, t, numel);
  }
  check_buffer(table, "table", table.numel(), p[0].scalar_type());
  const AdaShiftScalars c{double(step), lr, beta1, beta1_n, beta2, eps, decoupled ? 1 - lr * weight_decay : 1.0,
                          inv_normaliser};
  std::vector<ActivationStats> stats(chunks.size());
  AT_DISPATCH_FLOATING_TYPES(p[0].scalar_type(), "adashift_elementwise_group_step", [&] {
    using T = scalar_t;
    const T* tp = table.data_ptr<T>();
    const int32_t table_last = static_cast<int32_t>(table.numel() - 1);
    std::vector<std::vector<T>> saved(n);  // p of the `off` elements before the step
    for (size_t t = 0; t < n; ++t) {
      const int64_t* indices = off[t].data_ptr<int64_t>();
      const T* pp = p[t].data_ptr<T>();
      for (int64_t j = 0; j < off[t].numel(); ++j) saved[t].push_back(pp[indices[j]]);
    }
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, window[0].scalar_type(), "window", [&] {
      using W = scalar_t;
      for_each_chunk(chunks, [&](int64_t index, const Chunk& chunk) {
        const size_t t = chunk.tensor;
        T* sp = has_sum ? (*window_sum)[t].data_ptr<T>() : nullptr;
        auto* wp = window_data<W>(window[t]) + slot * p[t].numel();
        const auto run = [&](auto loop) {
          return loop(p[t].data_ptr<T>(), g[t].data_ptr<T>(), wp, sp, v[t].data_ptr<T>(), since[t].data_ptr<T>(), tp,
                      table_last, chunk.begin, chunk.end, c, T(uniform_rsqrt_bc2[t]));
        };
        const int64_t mode = modes[t];
        if (has_sum) {
          stats[index] = mode == kUniform ? run(adashift_elementwise_loop<T, W, kUniform, true>)
                       : mode == kActive  ? run(adashift_elementwise_loop<T, W, kActive, true>)
                                          : run(adashift_elementwise_loop<T, W, kActivating, true>);
        } else {
          stats[index] = mode == kUniform ? run(adashift_elementwise_loop<T, W, kUniform, false>)
                       : mode == kActive  ? run(adashift_elementwise_loop<T, W, kActive, false>)
                                          : run(adashift_elementwise_loop<T, W, kActivating, false>);
        }
      });
    });
    for (size_t t = 0; t < n; ++t) {
      if (off[t].numel() == 0) continue;
      const ActivationStats fixed = adashift_fix_off(
          p[t].data_ptr<T>(), g[t].data_ptr<T>(), has_sum ? (*window_sum)[t].data_ptr<T>() : nullptr,
          v[t].data_ptr<T>(), since[t].data_ptr<T>(), tp, table_last, off[t].data_ptr<int64_t>(), off[t].numel(),
          saved[t].data(), c);
      out[t] = {fixed.still_off, double(fixed.first_on), double(fixed.last_on)};
    }
  });
  std::vector<ActivationStats> merged(n);
  for (size_t index = 0; index < chunks.size(); ++index) {
    ActivationStats& a = merged[chunks[index].tensor];
    const ActivationStats& b = stats[index];
    a = ActivationStats{a.still_off + b.still_off, std::min(a.first_on, b.first_on), std::max(a.last_on, b.last_on)};
  }
  for (size_t t = 0; t < n; ++t) {
    if (modes[t] == kActivating) out[t] = {merged[t].still_off, double(merged[t].first_on), double(merged[t].last_on)};
  }
  return out;
}

// AdaShift, reduce "max"/"mean": one v per tensor, so the whole step is p = p decay - coefficient m with
// a scalar coefficient, m = S (windowed layout: the window moves in the same pass) or m = g (lean
// layout, beta1 = 0: no window, no S). Only where the gate is open (`open`) does p move, so a
// closed gate ignores a non-finite m. The entering gradient is reduced in the same pass: returns
// max(g_t^2) ("max", NaN if any is NaN) or sum(g_t^2) ("mean", accumulated in double; the caller
// divides by numel), over the stored (rounded) values.
template <typename T, typename W, bool take_max, bool open, bool lean>
double adashift_reduced_loop(T* __restrict__ p, const T* __restrict__ g,
                             typename Window<W>::Storage* __restrict__ slot, T* __restrict__ window_sum,
                             int64_t begin, int64_t end, T beta1, T beta1_n, T decay, T coefficient) {
  // m, and the stored g_t that phi reduces
#define ADASHIFT_REDUCED_MOMENT                                                \
    T m, kept;                                                                 \
    if constexpr (lean) {                                                      \
      kept = g[i];                                                             \
      m = kept;                                                                \
    } else {                                                                   \
      ADASHIFT_MOVE_WINDOW(true)                                               \
      m = s;                                                                   \
      kept = stored;                                                           \
    }                                                                          \
    p[i] = open ? p[i] * decay - coefficient * m : p[i] * decay;
  if constexpr (take_max) {
    T largest = T(0);
    int nan_seen = 0;
#pragma omp simd reduction(max : largest) reduction(| : nan_seen)
    for (int64_t i = begin; i < end; ++i) {
      ADASHIFT_REDUCED_MOMENT
      const T square = kept * kept;
      largest = std::max(largest, square);
      nan_seen |= (square != square);
    }
    return nan_seen ? std::numeric_limits<double>::quiet_NaN() : double(largest);
  } else {
    double total = 0.0;
#pragma omp simd reduction(+ : total)
    for (int64_t i = begin; i < end; ++i) {
      ADASHIFT_REDUCED_MOMENT
      total += double(kept) * double(kept);
    }
    return total;
  }
#undef ADASHIFT_REDUCED_MOMENT
}

// The whole step for all tensors of a group, either layout, in one call: per tensor v, the gate and the
// coefficient from its scalars (the formulas of the elementwise kernel, once); then the pass above
// over chunks of at most kGrain elements, each inside one tensor, in parallel; then per tensor
// phi(g_t^2) into window_phi[slot], the chunks' parts combined in their order (so the result does not
// depend on the number of threads). `window` and `window_sum` None: the lean layout (beta1 = 0).
void adashift_reduced_group_step(std::vector<at::Tensor> p, std::vector<at::Tensor> g,
                                 c10::optional<std::vector<at::Tensor>> window, int64_t slot,
                                 c10::optional<std::vector<at::Tensor>> window_sum,
                                 std::vector<at::Tensor> window_phi, std::vector<at::Tensor> v,
                                 std::vector<at::Tensor> since, int64_t step, double lr, double beta1,
                                 double beta1_n, double beta2, double eps, double weight_decay, bool decoupled,
                                 double inv_normaliser, bool take_max) {
  const size_t n = p.size();
  const bool lean = !window.has_value();
  TORCH_CHECK(lean == !window_sum.has_value(), "optim_plugins kernel: AdaShift window and window_sum go together");
  TORCH_CHECK(g.size() == n && window_phi.size() == n && v.size() == n && since.size() == n &&
                  (lean || (window->size() == n && window_sum->size() == n)),
              "optim_plugins kernel: lists of different lengths");
  TORCH_CHECK(!lean || beta1 == 0, "optim_plugins kernel: AdaShift without a running sum needs beta1 0");
  TORCH_CHECK(decoupled || weight_decay == 0, "AdaShift kernel: the caller adds coupled weight decay to g");
  if (n == 0) return;
  std::vector<Chunk> chunks;
  for (size_t t = 0; t < n; ++t) {
    const int64_t numel = lean ? check_like_param(p[t], {{&g[t], "grad"}})
                               : check_like_param(p[t], {{&g[t], "grad"}, {&(*window_sum)[t], "window_sum"}});
    TORCH_CHECK(p[t].scalar_type() == p[0].scalar_type(), "optim_plugins kernel: parameters of different dtypes");
    const int64_t slots = lean ? window_phi[t].numel() : (check_window((*window)[t], slot, numel), (*window)[t].size(0));
    TORCH_CHECK(lean || (*window)[t].scalar_type() == (*window)[0].scalar_type(),
                "optim_plugins kernel: windows of different dtypes");
    TORCH_CHECK(slot >= 0 && slot < slots, "optim_plugins kernel: slot ", slot, " outside ", slots, " slots");
    check_buffer(window_phi[t], "window_phi", slots, p[0].scalar_type());
    check_buffer(v[t], "exp_avg_sq", 1, p[0].scalar_type());
    check_buffer(since[t], "active_since", 1, p[0].scalar_type());
    add_chunks(chunks, t, numel);
  }
  std::vector<double> parts(chunks.size());
  AT_DISPATCH_FLOATING_TYPES(p[0].scalar_type(), "adashift_reduced_group_step", [&] {
    using T = scalar_t;
    std::vector<T> coefficients(n);
    std::vector<char> open(n);
    for (size_t t = 0; t < n; ++t) {  // the per-tensor scalars
      T* phis = window_phi[t].data_ptr<T>(); T* vp = v[t].data_ptr<T>(); T* on = since[t].data_ptr<T>();
      const T vi = vp[0] * T(beta2) + T(1 - beta2) * phis[slot];
      vp[0] = vi;
      if (on[0] == T(0) && vi != T(0)) on[0] = T(step);
      open[t] = on[0] > T(0);
      coefficients[t] = T(0);
      if (open[t]) {
        const T bc2 = std::max(T(1e-8), T(1) - static_cast<T>(std::pow(T(beta2), T(step) - on[0] + T(1))));
        coefficients[t] = T(lr * inv_normaliser) / (std::sqrt(vi / bc2) + T(eps));
      }
    }
    const T decay = decoupled ? T(1 - lr * weight_decay) : T(1);
    const auto pass = [&](auto window_type, auto lean_constant) {
      using W = decltype(window_type);
      constexpr bool kLean = decltype(lean_constant)::value;
      for_each_chunk(chunks, [&](int64_t index, const Chunk& chunk) {
        const size_t t = chunk.tensor;
        typename Window<W>::Storage* wp = nullptr;
        T* sp = nullptr;
        if constexpr (!kLean) {
          wp = window_data<W>((*window)[t]) + slot * p[t].numel();
          sp = (*window_sum)[t].data_ptr<T>();
        }
        const auto run = [&](auto loop) {
          return loop(p[t].data_ptr<T>(), g[t].data_ptr<T>(), wp, sp, chunk.begin, chunk.end, T(beta1), T(beta1_n),
                      decay, coefficients[t]);
        };
        parts[index] = take_max ? (open[t] ? run(adashift_reduced_loop<T, W, true, true, kLean>)
                                           : run(adashift_reduced_loop<T, W, true, false, kLean>))
                                : (open[t] ? run(adashift_reduced_loop<T, W, false, true, kLean>)
                                           : run(adashift_reduced_loop<T, W, false, false, kLean>));
      });
    };
    if (lean) {
      pass(T{}, std::true_type{});
    } else {
      AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, (*window)[0].scalar_type(), "window", [&] {
        pass(scalar_t{}, std::false_type{});
      });
    }
    std::vector<double> entering(n, 0.0);  // max(g^2) starts at 0 (squares are >= 0), sum at 0
    for (size_t index = 0; index < chunks.size(); ++index) {
      double& e = entering[chunks[index].tensor];
      e = take_max ? nan_propagating_max(e, parts[index]) : e + parts[index];
    }
    for (size_t t = 0; t < n; ++t) {
      window_phi[t].data_ptr<T>()[slot] = static_cast<T>(take_max ? entering[t] : entering[t] / double(p[t].numel()));
    }
  });
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("adamal_group_step", &adamal_group_step);
  m.def("adopt_group_step", &adopt_group_step);
  m.def("adashift_elementwise_group_step", &adashift_elementwise_group_step);
  m.def("adashift_reduced_group_step", &adashift_reduced_group_step);
  // the loops of adashift_elementwise_group_step, named for Python (optim_plugins.adashift reads them here)
  m.attr("MODE_ACTIVATING") = static_cast<int64_t>(kActivating);
  m.attr("MODE_ACTIVE") = static_cast<int64_t>(kActive);
  m.attr("MODE_UNIFORM") = static_cast<int64_t>(kUniform);
}
