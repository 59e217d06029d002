package dev.quiver.registry.aggregate;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import java.io.IOException;
import java.math.BigInteger;

/**
 * The exact sum of doubles (and longs): every finite double is an integer times a power of two, so
 * the sum is kept as one such number, {@code mantissa * 2^scale}, with no rounding at all. The
 * result is rounded once, to the nearest double (ties to even), when it is read. So the result is
 * the correctly rounded sum, and it is the same bits whatever the order or grouping of the values:
 * tiles merged online and rows folded offline cannot differ.
 *
 * <p>Non-finite values are counted apart: any NaN, or both infinities, make the sum NaN; otherwise
 * an infinity makes it that infinity. A finite sum too large for a double rounds to an infinity.
 *
 * <p>Cost: an addition is a {@code BigInteger} shift and add — a few tens of nanoseconds for values
 * of similar magnitude, growing with the span of exponents summed (at most about 2,100 bits).
 *
 * <p>Mutable; not thread-safe.
 */
public final class ExactSum {
  /** The exponent of the least significant bit of the smallest subnormal double. */
  private static final int MIN_SCALE = -1074;

  private BigInteger mantissa = BigInteger.ZERO;
  private int scale;
  private long nans;
  private long positiveInfinities;
  private long negativeInfinities;

  /** Adds {@code d}, exactly. */
  public void add(double d) {
    if (Double.isNaN(d)) {
      nans++;
      return;
    }
    if (Double.isInfinite(d)) {
      if (d > 0) {
        positiveInfinities++;
      } else {
        negativeInfinities++;
      }
      return;
    }
    if (d == 0) {
      return;
    }
    long m = magnitude(d);
    add(BigInteger.valueOf(d < 0 ? -m : m), scaleOf(d));
  }

  /** The integer m of a finite non-zero double's {@code |d| = m * 2^scaleOf(d)}. */
  private static long magnitude(double d) {
    long bits = Double.doubleToRawLongBits(d);
    long m = bits & 0xfffffffffffffL;
    return ((bits >>> 52) & 0x7ff) == 0 ? m : m | 1L << 52; // subnormals have no implicit bit
  }

  /** The power of two of a finite non-zero double: {@code |d| = magnitude(d) * 2^scaleOf(d)}. */
  private static int scaleOf(double d) {
    int exponent = (int) ((Double.doubleToRawLongBits(d) >>> 52) & 0x7ff);
    return Math.max(exponent, 1) - 1075;
  }

  /**
   * Adds {@code d * d}, exactly: the square of {@code m * 2^e} is {@code m^2 * 2^(2e)}, kept with
   * no rounding, so it neither overflows nor underflows. A NaN or an infinity adds a NaN or a
   * positive infinity.
   */
  public void addSquare(double d) {
    if (Double.isNaN(d) || Double.isInfinite(d)) {
      add(d * d);
      return;
    }
    if (d == 0) {
      return;
    }
    BigInteger big = BigInteger.valueOf(magnitude(d));
    add(big.multiply(big), 2 * scaleOf(d));
  }

  /** Adds {@code l * l}, exactly. */
  public void addSquare(long l) {
    if (l != 0) {
      BigInteger big = BigInteger.valueOf(l);
      add(big.multiply(big), 0);
    }
  }

  /** Adds {@code l}, exactly. */
  public void add(long l) {
    if (l != 0) {
      add(BigInteger.valueOf(l), 0);
    }
  }

  /** Adds everything {@code other} holds. */
  public void merge(ExactSum other) {
    nans += other.nans;
    positiveInfinities += other.positiveInfinities;
    negativeInfinities += other.negativeInfinities;
    if (other.mantissa.signum() != 0) {
      add(other.mantissa, other.scale);
    }
  }

  private void add(BigInteger m, int s) {
    if (mantissa.signum() == 0) {
      mantissa = m;
      scale = s;
    } else if (s >= scale) {
      mantissa = mantissa.add(m.shiftLeft(s - scale));
    } else {
      mantissa = mantissa.shiftLeft(scale - s).add(m);
      scale = s;
    }
  }

  /** Whether every value added was finite (no NaN, no infinity). */
  boolean isFinite() {
    return nans == 0 && positiveInfinities == 0 && negativeInfinities == 0;
  }

  /** The finite part of the sum is {@code mantissa() * 2^scale()}. */
  BigInteger mantissa() {
    return mantissa;
  }

  int scale() {
    return scale;
  }

  /** Whether nothing but zeros was added. */
  public boolean isZero() {
    return mantissa.signum() == 0
        && nans == 0
        && positiveInfinities == 0
        && negativeInfinities == 0;
  }

  /** The sum, rounded once to the nearest double. */
  public double toDouble() {
    return divide(1);
  }

  /** The sum divided by {@code count}, rounded once to the nearest double: an exact mean. */
  public double divide(long count) {
    if (count <= 0) {
      throw new IllegalArgumentException("count must be positive: " + count);
    }
    if (nans > 0 || (positiveInfinities > 0 && negativeInfinities > 0)) {
      return Double.NaN;
    }
    if (positiveInfinities > 0) {
      return Double.POSITIVE_INFINITY;
    }
    if (negativeInfinities > 0) {
      return Double.NEGATIVE_INFINITY;
    }
    return Rational.toDouble(mantissa, scale, BigInteger.valueOf(count));
  }

  /** The storage form; see {@link #decode}. */
  void writeTo(CodedOutputStream out) throws IOException {
    strip();
    byte[] m = mantissa.toByteArray();
    out.writeByteArrayNoTag(m);
    out.writeSInt32NoTag(scale);
    out.writeUInt64NoTag(nans);
    out.writeUInt64NoTag(positiveInfinities);
    out.writeUInt64NoTag(negativeInfinities);
  }

  static ExactSum readFrom(CodedInputStream in) throws IOException {
    ExactSum s = new ExactSum();
    s.mantissa = new BigInteger(in.readByteArray());
    s.scale = in.readSInt32();
    s.nans = in.readUInt64();
    s.positiveInfinities = in.readUInt64();
    s.negativeInfinities = in.readUInt64();
    return s;
  }

  /** Drops trailing zero bits of the mantissa into the scale, so the stored form stays short. */
  private void strip() {
    if (mantissa.signum() == 0) {
      scale = 0;
      return;
    }
    int zeros = mantissa.getLowestSetBit();
    if (zeros > 0) {
      mantissa = mantissa.shiftRight(zeros);
      scale += zeros;
    }
  }

  /** Rounding of exact rationals to doubles. */
  static final class Rational {
    private Rational() {}

    /**
     * {@code m * 2^s / d} rounded to the nearest double, ties to even; {@code d > 0}. Values past
     * the largest double round to an infinity, values below the smallest subnormal to zero.
     */
    static double toDouble(BigInteger m, int s, BigInteger d) {
      int sign = m.signum();
      if (sign == 0) {
        return 0.0;
      }
      BigInteger a = m.abs();
      if (d.equals(BigInteger.ONE) && a.bitLength() <= 1023) {
        // BigInteger.doubleValue rounds correctly (to nearest, ties to even), and scaling by 2^s
        // is exact while the result stays a normal double.
        double q = Math.scalb(a.doubleValue(), s);
        if (q >= Double.MIN_NORMAL && q <= Double.MAX_VALUE) {
          return sign < 0 ? -q : q;
        }
      } else if (a.bitLength() <= 53 && d.bitLength() <= 53) {
        // Both exact as doubles: IEEE division rounds a / d correctly, and scaling by 2^s is
        // exact while the result stays a normal double. Anything else takes the long way.
        double q = Math.scalb(a.doubleValue() / d.doubleValue(), s);
        if (q >= Double.MIN_NORMAL && q <= Double.MAX_VALUE) {
          return sign < 0 ? -q : q;
        }
      }
      // floor(log2(a * 2^s / d)): estimate from bit lengths, then correct by one comparison.
      int e = a.bitLength() - d.bitLength() + s;
      if (compare(a, s, d, e) < 0) {
        e--;
      }
      // The last place of the result: 53 significant bits, or the subnormal grid.
      int ulp = Math.max(e - 52, MIN_SCALE);
      if (ulp > 971) {
        return sign * Double.POSITIVE_INFINITY;
      }
      // q = floor(a * 2^(s - ulp + 1) / d): the mantissa with one more bit, for rounding.
      int shift = s - ulp + 1;
      BigInteger num = shift >= 0 ? a.shiftLeft(shift) : a;
      BigInteger den = shift >= 0 ? d : d.shiftLeft(-shift);
      BigInteger[] qr = num.divideAndRemainder(den);
      BigInteger q = qr[0];
      boolean sticky = qr[1].signum() != 0;
      boolean half = q.testBit(0);
      BigInteger mant = q.shiftRight(1);
      if (half && (sticky || mant.testBit(0))) {
        mant = mant.add(BigInteger.ONE);
      }
      double result = Math.scalb(mant.doubleValue(), ulp);
      return sign < 0 ? -result : result;
    }

    /** Compares {@code a * 2^s / d} with {@code 2^e}. */
    private static int compare(BigInteger a, int s, BigInteger d, int e) {
      // a * 2^s  vs  d * 2^e
      int k = Math.min(s, e);
      return a.shiftLeft(s - k).compareTo(d.shiftLeft(e - k));
    }
  }
}
