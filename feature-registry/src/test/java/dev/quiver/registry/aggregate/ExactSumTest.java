package dev.quiver.registry.aggregate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.proto.v1.Aggregation;
import dev.quiver.proto.v1.AggregationFunction;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.registry.Durations;
import dev.quiver.registry.Types;
import dev.quiver.registry.semantics.OrderKey;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Exact sums against a rational reference ({@link BigDecimal} holds every double exactly): the
 * result is the correctly rounded sum (or mean), and the same bits whatever the order and grouping.
 */
class ExactSumTest {
  static final Random RANDOM = new Random(2026_12_01);

  /** Doubles that make binary sums inexact: wide exponent spans, cancellation, subnormals. */
  static List<Double> hostileDoubles(Random random, int n) {
    List<Double> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      double d =
          switch (random.nextInt(7)) {
            case 0 -> random.nextDouble() * 1e16;
            case 1 -> -random.nextDouble() * 1e16;
            case 2 -> random.nextInt(100_000) / 100.0; // money
            case 3 -> Math.scalb(random.nextDouble(), random.nextInt(200) - 100);
            case 4 -> Double.MIN_VALUE * random.nextInt(1000);
            case 5 -> 0.1 * (random.nextInt(21) - 10);
            default -> Math.scalb(random.nextGaussian(), random.nextInt(40));
          };
      out.add(d);
    }
    return out;
  }

  static double sum(List<Double> values) {
    ExactSum s = new ExactSum();
    values.forEach(s::add);
    return s.toDouble();
  }

  static BigDecimal exact(List<Double> values) {
    BigDecimal exact = BigDecimal.ZERO;
    for (double d : values) {
      exact = exact.add(new BigDecimal(d));
    }
    return exact;
  }

  @Test
  void theSumIsCorrectlyRounded() {
    for (int round = 0; round < 300; round++) {
      List<Double> values = hostileDoubles(RANDOM, 1 + RANDOM.nextInt(200));
      assertCorrectlyRounded(sum(values), exact(values), BigDecimal.ONE);
    }
  }

  @Test
  void theMeanIsCorrectlyRounded() {
    for (int round = 0; round < 300; round++) {
      List<Double> values = hostileDoubles(RANDOM, 1 + RANDOM.nextInt(200));
      ExactSum s = new ExactSum();
      values.forEach(s::add);
      assertCorrectlyRounded(
          s.divide(values.size()), exact(values), BigDecimal.valueOf(values.size()));
    }
  }

  @Test
  void anyOrderAndGroupingGivesTheSameBits() {
    for (int round = 0; round < 200; round++) {
      List<Double> values = hostileDoubles(RANDOM, 2 + RANDOM.nextInt(300));
      long expected = Double.doubleToRawLongBits(sum(values));
      List<Double> shuffled = new ArrayList<>(values);
      Collections.shuffle(shuffled, RANDOM);
      // Fold in groups ("tiles"), pass each through its storage form, merge in random order.
      Aggregator sum = doubleSum();
      List<AggregateState> groups = new ArrayList<>();
      for (int at = 0; at < shuffled.size(); ) {
        int n = 1 + RANDOM.nextInt(20);
        AggregateState tile = sum.empty();
        for (double d : shuffled.subList(at, Math.min(shuffled.size(), at + n))) {
          sum.add(tile, d, new OrderKey(0, OrderKey.NO_CREATED_TIME, 0, at));
        }
        groups.add(AggregateState.decode(tile.encode()));
        at += n;
      }
      Collections.shuffle(groups, RANDOM);
      AggregateState merged = sum.empty();
      groups.forEach(g -> sum.merge(merged, g));
      assertThat(Double.doubleToRawLongBits(sum.result(merged).getDoubleValue()))
          .isEqualTo(expected);
    }
  }

  static Aggregator doubleSum() {
    return new Aggregator(
        Aggregation.newBuilder()
            .setName("total")
            .setFunction(AggregationFunction.AGGREGATION_FUNCTION_SUM)
            .setInput("x")
            .setInputType(Types.of(ScalarType.SCALAR_TYPE_DOUBLE))
            .setWindow(Durations.toProto(Duration.ofHours(1)))
            .setHop(Durations.toProto(Duration.ofMinutes(5)))
            .build());
  }

  @Test
  void whatPlainAdditionGetsWrongComesOutExact() {
    assertThat(sum(List.of(1e16, 1.0, -1e16))).isEqualTo(1.0);
    assertThat(sum(List.of(0.1, 0.2, -0.3)))
        .isEqualTo(exact(List.of(0.1, 0.2, -0.3)).doubleValue());
    assertThat(sum(List.of(Double.MAX_VALUE, Double.MAX_VALUE, -Double.MAX_VALUE)))
        .isEqualTo(Double.MAX_VALUE);
    assertThat(sum(List.of(Double.MAX_VALUE, Double.MAX_VALUE)))
        .isEqualTo(Double.POSITIVE_INFINITY);
    assertThat(sum(List.of(Double.MIN_VALUE, Double.MIN_VALUE))).isEqualTo(2 * Double.MIN_VALUE);
    assertThat(sum(List.of(-0.5, 0.5))).isEqualTo(0.0);
  }

  @Test
  void tiesGoToTheEvenMantissa() {
    double two53 = Math.scalb(1.0, 53);
    // 2^53 + 1 lies halfway between 2^53 (even) and 2^53 + 2 (odd): it rounds down.
    assertThat(sum(List.of(two53, 1.0))).isEqualTo(two53);
    // 2^53 + 3 lies halfway between 2^53 + 2 (odd) and 2^53 + 4 (even): it rounds up.
    assertThat(sum(List.of(two53, 3.0))).isEqualTo(two53 + 4);
    // Just past halfway rounds up, whichever way the tie would go.
    assertThat(sum(List.of(two53, 1.0, Math.scalb(1.0, -60)))).isEqualTo(two53 + 2);
    ExactSum s = new ExactSum();
    s.add(5L);
    assertThat(s.divide(2)).isEqualTo(2.5);
  }

  @Test
  void nonFiniteValuesFollowIeeeWhateverTheOrder() {
    assertThat(sum(List.of(1.0, Double.POSITIVE_INFINITY, 2.0)))
        .isEqualTo(Double.POSITIVE_INFINITY);
    assertThat(sum(List.of(Double.NEGATIVE_INFINITY, 1.0))).isEqualTo(Double.NEGATIVE_INFINITY);
    assertThat(sum(List.of(Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY))).isNaN();
    assertThat(sum(List.of(Double.NaN, 1.0))).isNaN();
  }

  @Test
  void longsAreAddedExactlyPastSixtyFourBits() {
    ExactSum s = new ExactSum();
    s.add(Long.MAX_VALUE);
    s.add(Long.MAX_VALUE);
    s.add(1L);
    BigDecimal exact =
        BigDecimal.valueOf(Long.MAX_VALUE).multiply(BigDecimal.valueOf(2)).add(BigDecimal.ONE);
    assertCorrectlyRounded(s.toDouble(), exact, BigDecimal.ONE);
    assertCorrectlyRounded(s.divide(3), exact, BigDecimal.valueOf(3));
  }

  @Test
  void aStateOfAnotherFormatIsRefusedNotMisread() {
    byte[] stored = doubleSum().empty().encode();
    stored[0] = 1;
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> AggregateState.decode(stored))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("format 1");
  }

  /**
   * {@code r} is the double nearest {@code exact / n} (ties to an even mantissa): no neighbour of
   * {@code r} is nearer. Compared as {@code |exact - x * n|}, exactly.
   */
  static void assertCorrectlyRounded(double r, BigDecimal exact, BigDecimal n) {
    assertThat(Double.isFinite(r)).as("finite result for %s / %s", exact, n).isTrue();
    BigDecimal error = exact.subtract(new BigDecimal(r).multiply(n)).abs();
    for (double neighbour : new double[] {Math.nextUp(r), Math.nextDown(r)}) {
      if (!Double.isFinite(neighbour)) {
        continue;
      }
      BigDecimal other = exact.subtract(new BigDecimal(neighbour).multiply(n)).abs();
      int c = error.compareTo(other);
      assertThat(c)
          .as("%s is nearer to %s / %s than %s", neighbour, exact, n, r)
          .isLessThanOrEqualTo(0);
      if (c == 0) {
        assertThat(Double.doubleToRawLongBits(r) & 1)
            .as("a tie goes to the even mantissa")
            .isZero();
      }
    }
  }

  /** The rounding of m * 2^s / d, short cut or not, against exact decimal arithmetic. */
  @Test
  void exactQuotientsRoundCorrectlyOnEveryPath() {
    Random r = new Random(3);
    java.math.MathContext digits = new java.math.MathContext(1200);
    for (int i = 0; i < 20_000; i++) {
      int bits = 1 + r.nextInt(i % 2 == 0 ? 53 : 120);
      java.math.BigInteger m = new java.math.BigInteger(bits, r).add(java.math.BigInteger.ONE);
      if (r.nextBoolean()) {
        m = m.negate();
      }
      long d = i % 3 == 0 ? 1 : 1 + r.nextInt(i % 5 == 0 ? Integer.MAX_VALUE : 1000);
      // Scales around the normal range's edges and inside it.
      int s =
          switch (r.nextInt(4)) {
            case 0 -> -1074 - bits + r.nextInt(120);
            case 1 -> 1024 - bits - r.nextInt(80);
            default -> r.nextInt(400) - 200;
          };
      BigDecimal scaled =
          s >= 0
              ? new BigDecimal(m.shiftLeft(s))
              : new BigDecimal(m).divide(new BigDecimal(java.math.BigInteger.ONE.shiftLeft(-s)));
      double expected = Double.parseDouble(scaled.divide(BigDecimal.valueOf(d), digits).toString());
      double got = ExactSum.Rational.toDouble(m, s, java.math.BigInteger.valueOf(d));
      assertThat(Double.doubleToRawLongBits(got))
          .as("%s * 2^%d / %d", m, s, d)
          .isEqualTo(Double.doubleToRawLongBits(expected));
    }
  }
}
