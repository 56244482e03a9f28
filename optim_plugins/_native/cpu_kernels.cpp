// One-pass CPU kernels for the rules torch has no fused kernel for (AdamAL, AdaShift).
//
// Each function updates one contiguous tensor in place, reading and writing every element once,
// with its constants (1 - beta2, lr / bias_correction1, ...) computed in double and rounded once,
// as torch rounds the Python scalars the reference path passes,
// and computes the same formulas as the reference path in optim_plugins (see the docstrings of
// adam.py and adashift.py), in the state's dtype. Compiled on first use by
// optim_plugins/_native/__init__.py; the Python side checks shapes, dtypes and contiguity.
#include <torch/extension.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <tuple>

namespace {

constexpr int64_t kGrain = 1 << 15;

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

void adamal_step(at::Tensor p, at::Tensor g, at::Tensor m, at::Tensor v, double lr, double beta1,
                 double beta2, double eps, double weight_decay, bool decoupled, double bias_correction1,
                 double bias_correction2_sqrt) {
  AT_DISPATCH_FLOATING_TYPES(p.scalar_type(), "adamal_step", [&] {
    using T = scalar_t;
    T* pp = p.data_ptr<T>(); const T* gp = g.data_ptr<T>();
    T* mp = m.data_ptr<T>(); T* vp = v.data_ptr<T>();
    const T coupled = decoupled ? T(0) : T(weight_decay);
    const T decay = decoupled ? T(1 - lr * weight_decay) : T(1);
    at::parallel_for(0, p.numel(), kGrain, [&](int64_t begin, int64_t end) {
      adamal_loop<T>(pp, gp, mp, vp, begin, end, T(1 - beta1), T(beta2), T(1 - beta2), T(eps), coupled,
                     decay, T(lr / bias_correction1), T(bias_correction2_sqrt));
    });
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
typename Window<W>::Storage* window_data(at::Tensor& slot) {
  return reinterpret_cast<typename Window<W>::Storage*>(slot.data_ptr<W>());
}

// The window move shared by the AdaShift kernels: the slot holding g_{t-n} receives g_t (rounded
// to the window's dtype) and S = beta1 S - beta1^n g_{t-n} + g_t (the stored, rounded g_t), so S
// stays the beta1-weighted sum of what the window holds.
#define ADASHIFT_MOVE_WINDOW                                                   \
  const T grad = g[i] + coupled_wd * p[i];                                     \
  const T oldest = Window<W>::template load<T>(slot[i]);                       \
  const auto rounded = Window<W>::template store<T>(grad);                     \
  slot[i] = rounded;                                                           \
  const T stored = Window<W>::template load<T>(rounded);                       \
  const T s = window_sum[i] * beta1 - beta1_n * oldest + stored;               \
  window_sum[i] = s;

struct AdaShiftScalars {  // in the state's dtype T, computed in double and rounded once
  double step, lr, beta1, beta1_n, beta2, eps, coupled_wd, decay, inv_normaliser;
};

// AdaShift, reduce "none": per element v, activation step ("since") and gate.
//   v = beta2 v + (1 - beta2) g_{t-n}^2;  since = step when v first turns positive;
//   k = step - since + 1;  bc2 = max(1e-8, 1 - beta2^k) from `table` (pow beyond it);
//   p -= lr * (S / normaliser) / (sqrt(v / bc2) + eps) where since > 0.
// Mode kActivating is the general loop: it writes since and counts what is still off. Once every
// element is on, since never changes again and the caller picks a loop that only reads it
// (kActive, bc2 gathered from the table) or, when all turned on at the same step, none that
// touches it (kUniform, one bc2).
enum Mode : int64_t { kActivating = 0, kActive = 1, kUniform = 2 };

template <typename T, typename W, int64_t mode>
void adashift_elementwise_loop(T* __restrict__ p, const T* __restrict__ g,
                               typename Window<W>::Storage* __restrict__ slot, T* __restrict__ window_sum,
                               T* __restrict__ v, T* __restrict__ since, const T* __restrict__ table,
                               int64_t table_last, int64_t begin, int64_t end,
                               const AdaShiftScalars& c, T uniform_bc2, int64_t* still_off,
                               T* first_on, T* last_on) {
  const T step = T(c.step), lr = T(c.lr), beta1 = T(c.beta1), beta1_n = T(c.beta1_n);
  const T beta2 = T(c.beta2), one_minus_beta2 = T(1 - c.beta2), eps = T(c.eps);
  const T coupled_wd = T(c.coupled_wd), decay = T(c.decay), inv_normaliser = T(c.inv_normaliser);
  if constexpr (mode == kActivating) {
    int64_t off = 0;
    T lo = step, hi = T(0);
    for (int64_t i = begin; i < end; ++i) {
      ADASHIFT_MOVE_WINDOW
      const T vi = beta2 * v[i] + one_minus_beta2 * oldest * oldest;
      v[i] = vi;
      T on = since[i];
      if (on == T(0) && vi > T(0)) {
        on = step;
        since[i] = on;
      }
      T param = p[i] * decay;
      if (on > T(0)) {
        const int64_t k = static_cast<int64_t>(step - on) + 1;
        const T bc2 = k <= table_last ? table[k]
                                      : std::max(T(1e-8), T(1) - static_cast<T>(std::pow(beta2, T(k))));
        param -= lr * (s * inv_normaliser) / (std::sqrt(vi / bc2) + eps);
        lo = std::min(lo, on);
        hi = std::max(hi, on);
      } else {
        ++off;
      }
      p[i] = param;
    }
    *still_off = off;
    *first_on = lo;
    *last_on = hi;
  } else {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) {
      ADASHIFT_MOVE_WINDOW
      const T vi = beta2 * v[i] + one_minus_beta2 * oldest * oldest;
      v[i] = vi;
      T bc2;
      if constexpr (mode == kUniform) {
        bc2 = uniform_bc2;
      } else {
        const int32_t k = static_cast<int32_t>(step - since[i]) + 1;
        bc2 = table[k < table_last ? k : table_last];
      }
      p[i] = p[i] * decay - lr * (s * inv_normaliser) / (std::sqrt(vi / bc2) + eps);
    }
  }
}

// Returns (elements still off, first and last activation step among those on); meaningful in
// mode kActivating only.
std::tuple<int64_t, double, double> adashift_elementwise_step(
    at::Tensor p, at::Tensor g, at::Tensor slot, at::Tensor window_sum, at::Tensor v, at::Tensor since,
    at::Tensor table, int64_t step, double lr, double beta1, double beta1_n, double beta2, double eps,
    double weight_decay, bool decoupled, double inv_normaliser, int64_t mode, double uniform_bc2) {
  const AdaShiftScalars c{double(step), lr, beta1, beta1_n, beta2, eps,
                          decoupled ? 0.0 : weight_decay, decoupled ? 1 - lr * weight_decay : 1.0,
                          inv_normaliser};
  int64_t still_off = 0;
  double first_on = 0, last_on = 0;
  AT_DISPATCH_FLOATING_TYPES(p.scalar_type(), "adashift_elementwise_step", [&] {
    using T = scalar_t;
    T* pp = p.data_ptr<T>(); const T* gp = g.data_ptr<T>(); T* sp = window_sum.data_ptr<T>();
    T* vp = v.data_ptr<T>(); T* onp = since.data_ptr<T>(); const T* tp = table.data_ptr<T>();
    const int64_t table_last = table.numel() - 1;
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, slot.scalar_type(), "window", [&] {
      using W = scalar_t;
      auto* wp = window_data<W>(slot);
      if (mode == kActivating) {  // also gathers what is still off and the activation steps
        using Stats = std::tuple<int64_t, double, double>;
        const Stats none{0, double(step), 0.0};
        const auto merge = [](const Stats& a, const Stats& b) {
          return Stats{std::get<0>(a) + std::get<0>(b), std::min(std::get<1>(a), std::get<1>(b)),
                       std::max(std::get<2>(a), std::get<2>(b))};
        };
        std::tie(still_off, first_on, last_on) = at::parallel_reduce(
            int64_t(0), p.numel(), kGrain, none,
            [&](int64_t begin, int64_t end, const Stats& identity) {
              int64_t off;
              T lo, hi;
              adashift_elementwise_loop<T, W, kActivating>(pp, gp, wp, sp, vp, onp, tp, table_last, begin,
                                                           end, c, T(0), &off, &lo, &hi);
              return merge(identity, Stats{off, double(lo), double(hi)});
            },
            merge);
        return;
      }
      at::parallel_for(0, p.numel(), kGrain, [&](int64_t begin, int64_t end) {
        if (mode == kUniform)
          adashift_elementwise_loop<T, W, kUniform>(pp, gp, wp, sp, vp, onp, tp, table_last, begin, end,
                                                    c, T(uniform_bc2), nullptr, nullptr, nullptr);
        else
          adashift_elementwise_loop<T, W, kActive>(pp, gp, wp, sp, vp, onp, tp, table_last, begin, end,
                                                   c, T(0), nullptr, nullptr, nullptr);
      });
    });
  });
  return {still_off, first_on, last_on};
}

// AdaShift, reduce "max"/"mean": one v per tensor, so the whole step is p -= coefficient * S with a
// scalar coefficient computed by the caller. The entering gradient is reduced in the same pass:
// returns max(g_t^2) ("max", NaN if any is NaN) or sum(g_t^2) ("mean", accumulated in double; the
// caller divides by numel), over the stored (rounded) values.
template <typename T, typename W, bool take_max>
double adashift_reduced_loop(T* __restrict__ p, const T* __restrict__ g,
                             typename Window<W>::Storage* __restrict__ slot, T* __restrict__ window_sum,
                             int64_t begin, int64_t end, T beta1, T beta1_n, T coupled_wd, T decay,
                             T coefficient) {
  if constexpr (take_max) {
    T largest = T(0);
    int nan_seen = 0;
#pragma omp simd reduction(max : largest) reduction(| : nan_seen)
    for (int64_t i = begin; i < end; ++i) {
      ADASHIFT_MOVE_WINDOW
      p[i] = p[i] * decay - coefficient * s;
      const T square = stored * stored;
      largest = std::max(largest, square);
      nan_seen |= (square != square);
    }
    return nan_seen ? std::numeric_limits<double>::quiet_NaN() : double(largest);
  } else {
    double total = 0.0;
#pragma omp simd reduction(+ : total)
    for (int64_t i = begin; i < end; ++i) {
      ADASHIFT_MOVE_WINDOW
      p[i] = p[i] * decay - coefficient * s;
      total += double(stored) * double(stored);
    }
    return total;
  }
}

double adashift_reduced_step(at::Tensor p, at::Tensor g, at::Tensor slot, at::Tensor window_sum,
                             double beta1, double beta1_n, double lr, double weight_decay,
                             bool decoupled, double coefficient, bool take_max) {
  double result = 0.0;
  AT_DISPATCH_FLOATING_TYPES(p.scalar_type(), "adashift_reduced_step", [&] {
    using T = scalar_t;
    T* pp = p.data_ptr<T>(); const T* gp = g.data_ptr<T>(); T* sp = window_sum.data_ptr<T>();
    const T coupled = decoupled ? T(0) : T(weight_decay);
    const T decay = decoupled ? T(1 - lr * weight_decay) : T(1);
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, slot.scalar_type(), "window", [&] {
      using W = scalar_t;
      auto* wp = window_data<W>(slot);
      auto combine = [take_max](double a, double b) { return take_max ? nan_propagating_max(a, b) : a + b; };
      result = at::parallel_reduce(
          int64_t(0), p.numel(), kGrain, 0.0,
          [&](int64_t begin, int64_t end, double identity) {
            const double part =
                take_max ? adashift_reduced_loop<T, W, true>(pp, gp, wp, sp, begin, end, T(beta1),
                                                             T(beta1_n), coupled, decay, T(coefficient))
                         : adashift_reduced_loop<T, W, false>(pp, gp, wp, sp, begin, end, T(beta1),
                                                              T(beta1_n), coupled, decay, T(coefficient));
            return combine(identity, part);
          },
          combine);
    });
  });
  return result;
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("adamal_step", &adamal_step);
  m.def("adashift_elementwise_step", &adashift_elementwise_step);
  m.def("adashift_reduced_step", &adashift_reduced_step);
}
