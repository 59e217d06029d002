package dev.quiver.registry.aggregate;

import java.math.BigInteger;

/**
 * Variance and standard deviation from exact sums of x and x²: with {@code S1 = Σx}, {@code S2 =
 * Σx²}, the variance is {@code (n·S2 − S1²) / (n·d)} where {@code d = n} (population) or {@code n −
 * 1} (sample). Both sums are exact ({@link ExactSum}), so the numerator is an exact integer times a
 * power of two, never negative, and the quotient is rounded once: the variance is the correctly
 * rounded one, and the standard deviation the correctly rounded square root of the exact variance
 * (not the root of the rounded variance). No step depends on the order or grouping of rows.
 */
final class Moments {
  private Moments() {}

  /**
   * The variance, correctly rounded; NaN if any input was not finite.
   *
   * @param divisor {@code n} for the population variance, {@code n − 1} for the sample variance;
   *     positive
   */
  static double variance(ExactSum s1, ExactSum s2, long n, long divisor) {
    if (!s1.isFinite() || !s2.isFinite()) {
      return Double.NaN;
    }
    Numerator num = numerator(s1, s2, n);
    BigInteger den = BigInteger.valueOf(n).multiply(BigInteger.valueOf(divisor));
    return num.m.signum() == 0 ? 0.0 : ExactSum.Rational.toDouble(num.m, num.scale, den);
  }

  /** The square root of the exact variance, correctly rounded; NaN if any input was not finite. */
  static double stddev(ExactSum s1, ExactSum s2, long n, long divisor) {
    if (!s1.isFinite() || !s2.isFinite()) {
      return Double.NaN;
    }
    Numerator num = numerator(s1, s2, n);
    if (num.m.signum() == 0) {
      return 0.0;
    }
    BigInteger den = BigInteger.valueOf(n).multiply(BigInteger.valueOf(divisor));
    // X = m * 2^scale / den > 2^(e - 1). Take Y = floor(X * 2^(2p)) >= 2^122, so that r =
    // floor(sqrt(Y)) = floor(sqrt(X) * 2^p) has at least 61 bits: far more than the 53 kept.
    int e = num.m.bitLength() + num.scale - den.bitLength();
    int p = Math.floorDiv(125 - e, 2);
    int shift = num.scale + 2 * p;
    BigInteger a = shift >= 0 ? num.m.shiftLeft(shift) : num.m;
    BigInteger b = shift >= 0 ? den : den.shiftLeft(-shift);
    BigInteger[] qr = a.divideAndRemainder(b);
    BigInteger[] root = qr[0].sqrtAndRemainder();
    boolean inexact = qr[1].signum() != 0 || root[1].signum() != 0;
    // sqrt(X) lies in [r, r + 1) * 2^-p; as (2r + 1) * 2^-(p+1) when inexact it rounds alike.
    BigInteger twice = root[0].shiftLeft(1).add(inexact ? BigInteger.ONE : BigInteger.ZERO);
    return ExactSum.Rational.toDouble(twice, -p - 1, BigInteger.ONE);
  }

  private record Numerator(BigInteger m, int scale) {}

  /** {@code n·S2 − S1²}, exactly, as {@code m * 2^scale}. */
  private static Numerator numerator(ExactSum s1, ExactSum s2, long n) {
    BigInteger a = s1.mantissa();
    BigInteger b = s2.mantissa().multiply(BigInteger.valueOf(n));
    int sa = 2 * s1.scale();
    int sb = s2.scale();
    BigInteger a2 = a.multiply(a);
    if (a2.signum() == 0) {
      return new Numerator(b, sb);
    }
    if (b.signum() == 0) {
      return new Numerator(a2.negate(), sa);
    }
    int c = Math.min(sa, sb);
    return new Numerator(b.shiftLeft(sb - c).subtract(a2.shiftLeft(sa - c)), c);
  }
}
