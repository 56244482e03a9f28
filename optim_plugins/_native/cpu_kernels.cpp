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

// The window move shared by both AdaShift kernels: the slot holding g_{t-n} receives g_t (rounded
// to the window's dtype) and S = beta1 S - beta1^n g_{t-n} + g_t. Returns the new S; `oldest`
// receives g_{t-n} and `stored` the rounded g_t.
template <typename T, typename W>
inline T advance_window(T grad, W* __restrict__ slot, T* __restrict__ window_sum, int64_t i, T beta1,
                        T beta1_n, T& oldest, T& stored) {
  oldest = static_cast<T>(slot[i]);
  const W rounded = static_cast<W>(grad);
  slot[i] = rounded;
  stored = static_cast<T>(rounded);
  const T s = window_sum[i] * beta1 - beta1_n * oldest + stored;
  window_sum[i] = s;
  return s;
}

// AdaShift, reduce "none": per element v, activation step and gate.
//   v = beta2 v + (1 - beta2) g_{t-n}^2; since = step when v first turns positive;
//   k = step - since + 1; bc2 = table[min(k, K)] = max(1e-8, 1 - beta2^k) (pow beyond the table);
//   p -= lr * (S / normaliser) / (sqrt(v / bc2) + eps) where k > 0.
template <typename T, typename W>
void adashift_elementwise_loop(T* __restrict__ p, const T* __restrict__ g, W* __restrict__ slot,
                               T* __restrict__ window_sum, T* __restrict__ v, T* __restrict__ since,
                               const T* __restrict__ table, int64_t table_last, int64_t begin,
                               int64_t end, T step, T lr, T beta1, T beta1_n, T beta2,
                               T one_minus_beta2, T eps, T coupled_wd, T decay, T inv_normaliser) {
  for (int64_t i = begin; i < end; ++i) {
    const T grad = g[i] + coupled_wd * p[i];
    T oldest, stored;
    const T s = advance_window<T, W>(grad, slot, window_sum, i, beta1, beta1_n, oldest, stored);
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
    }
    p[i] = param;
  }
}

void adashift_elementwise_step(at::Tensor p, at::Tensor g, at::Tensor slot, at::Tensor window_sum,
                               at::Tensor v, at::Tensor since, at::Tensor table, int64_t step,
                               double lr, double beta1, double beta1_n, double beta2, double eps,
                               double weight_decay, bool decoupled, double inv_normaliser) {
  AT_DISPATCH_FLOATING_TYPES(p.scalar_type(), "adashift_elementwise_step", [&] {
    using T = scalar_t;
    T* pp = p.data_ptr<T>(); const T* gp = g.data_ptr<T>(); T* sp = window_sum.data_ptr<T>();
    T* vp = v.data_ptr<T>(); T* onp = since.data_ptr<T>(); const T* tp = table.data_ptr<T>();
    const int64_t table_last = table.numel() - 1;
    const T coupled = decoupled ? T(0) : T(weight_decay);
    const T decay = decoupled ? T(1 - lr * weight_decay) : T(1);
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, slot.scalar_type(), "window", [&] {
      using W = scalar_t;
      W* wp = slot.data_ptr<W>();
      at::parallel_for(0, p.numel(), kGrain, [&](int64_t begin, int64_t end) {
        adashift_elementwise_loop<T, W>(pp, gp, wp, sp, vp, onp, tp, table_last, begin, end, T(step),
                                        T(lr), T(beta1), T(beta1_n), T(beta2), T(1 - beta2), T(eps),
                                        coupled, decay, T(inv_normaliser));
      });
    });
  });
}

// AdaShift, reduce "max"/"mean": one v per tensor, so the whole step is p -= coefficient * S with a
// scalar coefficient computed by the caller. The entering gradient is reduced in the same pass:
// returns max(g_t^2) ("max") or sum(g_t^2) ("mean"; the caller divides by numel), over the
// stored (rounded) values, accumulated in double.
template <typename T, typename W>
double adashift_reduced_loop(T* __restrict__ p, const T* __restrict__ g, W* __restrict__ slot,
                             T* __restrict__ window_sum, int64_t begin, int64_t end, T beta1, T beta1_n,
                             T coupled_wd, T decay, T coefficient, bool take_max) {
  double acc = 0.0;
  for (int64_t i = begin; i < end; ++i) {
    const T grad = g[i] + coupled_wd * p[i];
    T oldest, stored;
    const T s = advance_window<T, W>(grad, slot, window_sum, i, beta1, beta1_n, oldest, stored);
    p[i] = p[i] * decay - coefficient * s;
    const double square = static_cast<double>(stored) * static_cast<double>(stored);
    acc = take_max ? nan_propagating_max(acc, square) : acc + square;
  }
  return acc;
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
      W* wp = slot.data_ptr<W>();
      result = at::parallel_reduce(
          int64_t(0), p.numel(), kGrain, 0.0,
          [&](int64_t begin, int64_t end, double identity) {
            const double part = adashift_reduced_loop<T, W>(pp, gp, wp, sp, begin, end, T(beta1),
                                                            T(beta1_n), coupled, decay, T(coefficient),
                                                            take_max);
            return take_max ? nan_propagating_max(identity, part) : identity + part;
          },
          [&](double a, double b) { return take_max ? nan_propagating_max(a, b) : a + b; });
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
