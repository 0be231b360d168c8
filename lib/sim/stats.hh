// Descriptive statistics and Welch's t-test for the congestion-control lab
// (docs/congestion.md): what the lecture asks of a comparison -- the mean,
// median and standard deviation, quantiles, and whether a difference is
// likely noise.
#pragma once

#include <span>
#include <vector>

namespace ts::sim {

struct Summary {
  size_t n = 0;
  double mean = 0, median = 0, stddev = 0;  // stddev: the sample's (n - 1)
  double q05 = 0, q25 = 0, q75 = 0, q95 = 0;
  double min = 0, max = 0;
};
// Quantiles interpolate linearly between order statistics (Hyndman and Fan's
// type 7, R's and NumPy's default).
Summary summarize(std::span<const double> xs);
double quantile(std::vector<double> sorted, double q);

struct TTest {
  double t = 0, df = 0, p = 1;  // two-sided p
  bool valid = false;           // both samples have n >= 2 and some variance
};
// Welch's unequal-variance t-test of the means of a and b.
TTest welch(std::span<const double> a, std::span<const double> b);

// The regularized incomplete beta function I_x(a, b), and Student's t
// distribution's two-sided tail probability P(|T| > t) with `df` degrees of
// freedom (df may be fractional, as Welch's are).
double incomplete_beta(double a, double b, double x);
double student_t_two_sided(double t, double df);

}  // namespace ts::sim
