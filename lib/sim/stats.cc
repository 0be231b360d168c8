#include "sim/stats.hh"

#include <algorithm>
#include <cmath>

namespace ts::sim {

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double h = (double(v.size()) - 1) * q;
  const size_t lo = size_t(std::floor(h));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (h - double(lo)) * (v[hi] - v[lo]);
}

Summary summarize(std::span<const double> xs) {
  Summary s;
  s.n = xs.size();
  if (xs.empty()) return s;
  std::vector<double> v(xs.begin(), xs.end());
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / double(v.size());
  double ss = 0;
  for (double x : v) ss += (x - s.mean) * (x - s.mean);
  s.stddev = v.size() > 1 ? std::sqrt(ss / double(v.size() - 1)) : 0;
  s.median = quantile(v, 0.5);
  s.q05 = quantile(v, 0.05);
  s.q25 = quantile(v, 0.25);
  s.q75 = quantile(v, 0.75);
  s.q95 = quantile(v, 0.95);
  s.min = v.front();
  s.max = v.back();
  return s;
}

namespace {

// The continued fraction of the incomplete beta function (the even and odd
// terms of its standard expansion), evaluated by the modified Lentz method.
double beta_fraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300, kEps = 1e-15;
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1 / d;
  double f = d;
  for (int m = 1; m <= 500; ++m) {
    const double m2 = 2.0 * m;
    // Even step: d_{2m} = m (b - m) x / ((a + 2m - 1)(a + 2m)).
    double num = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
    d = 1 + num * d;
    c = 1 + num / c;
    if (std::fabs(d) < kTiny) d = kTiny;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    f *= d * c;
    // Odd step: d_{2m+1} = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)).
    num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
    d = 1 + num * d;
    c = 1 + num / c;
    if (std::fabs(d) < kTiny) d = kTiny;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    const double step = d * c;
    f *= step;
    if (std::fabs(step - 1) < kEps) break;
  }
  return f;
}

}  // namespace

double incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  // x^a (1-x)^b / (a B(a, b)), in logs.
  const double ln_front = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) +
                          a * std::log(x) + b * std::log1p(-x);
  const double front = std::exp(ln_front);
  // The fraction converges fast for x < (a + 1) / (a + b + 2); otherwise use
  // the symmetry I_x(a, b) = 1 - I_{1-x}(b, a).
  if (x < (a + 1) / (a + b + 2)) return front * beta_fraction(a, b, x) / a;
  return 1 - front * beta_fraction(b, a, 1 - x) / b;
}

double student_t_two_sided(double t, double df) {
  if (!(df > 0)) return 1;
  return incomplete_beta(df / 2, 0.5, df / (df + t * t));
}

TTest welch(std::span<const double> a, std::span<const double> b) {
  TTest r;
  if (a.size() < 2 || b.size() < 2) return r;
  const Summary sa = summarize(a), sb = summarize(b);
  const double va = sa.stddev * sa.stddev / double(sa.n);
  const double vb = sb.stddev * sb.stddev / double(sb.n);
  const double se2 = va + vb;
  if (!(se2 > 0)) {
    // No variance at all: identical means are no difference; different
    // ones are certain.
    r.valid = true;
    r.df = double(sa.n + sb.n - 2);
    r.t = sa.mean == sb.mean ? 0 : (sa.mean > sb.mean ? INFINITY : -INFINITY);
    r.p = sa.mean == sb.mean ? 1 : 0;
    return r;
  }
  r.t = (sa.mean - sb.mean) / std::sqrt(se2);
  r.df = se2 * se2 / (va * va / double(sa.n - 1) + vb * vb / double(sb.n - 1));
  r.p = student_t_two_sided(r.t, r.df);
  r.valid = true;
  return r;
}

}  // namespace ts::sim
