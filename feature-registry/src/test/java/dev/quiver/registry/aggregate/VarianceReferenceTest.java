package dev.quiver.registry.aggregate;

import static dev.quiver.proto.v1.AggregationFunction.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.proto.v1.AggregationFunction;
import dev.quiver.registry.semantics.OrderKey;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Variance and standard deviation against exact rational arithmetic ({@link BigDecimal} holds every
 * double exactly): the variance is the correctly rounded {@code (n·Σx² − (Σx)²) / (n·d)}, and the
 * standard deviation the correctly rounded square root of that exact value.
 */
class VarianceReferenceTest {
  static final Random RANDOM = new Random(2026_12_02);

  static double run(AggregationFunction f, String type, List<? extends Number> xs) {
    Aggregator a = new Aggregator(Specs.spec(f, type));
    AggregateState s = a.empty();
    for (int i = 0; i < xs.size(); i++) {
      a.add(s, xs.get(i), new OrderKey(i, OrderKey.NO_CREATED_TIME, 0, i));
    }
    return a.result(s).getDoubleValue();
  }

  /** {n·Σx² − (Σx)², n·d}, exactly. */
  static BigDecimal[] exact(List<? extends Number> xs, boolean sample) {
    BigDecimal s1 = BigDecimal.ZERO;
    BigDecimal s2 = BigDecimal.ZERO;
    for (Number x : xs) {
      BigDecimal b = x instanceof Long l ? BigDecimal.valueOf(l) : new BigDecimal(x.doubleValue());
      s1 = s1.add(b);
      s2 = s2.add(b.multiply(b));
    }
    BigDecimal n = BigDecimal.valueOf(xs.size());
    return new BigDecimal[] {
      n.multiply(s2).subtract(s1.multiply(s1)), n.multiply(sample ? n.subtract(BigDecimal.ONE) : n)
    };
  }

  static List<Double> doubles(int n) {
    List<Double> out = new ArrayList<>();
    List<Double> hostile = ExactSumTest.hostileDoubles(RANDOM, n);
    for (double d : hostile) {
      if (Double.isFinite(d) && Math.abs(d) < 1e150) {
        out.add(d);
      }
    }
    return out;
  }

  @Test
  void theVarianceIsCorrectlyRounded() {
    for (int round = 0; round < 300; round++) {
      List<Double> xs = doubles(2 + RANDOM.nextInt(200));
      if (xs.size() < 2) {
        continue;
      }
      for (boolean sample : new boolean[] {false, true}) {
        BigDecimal[] q = exact(xs, sample);
        double r =
            run(
                sample ? AGGREGATION_FUNCTION_VARIANCE_SAMPLE : AGGREGATION_FUNCTION_VARIANCE,
                "double",
                xs);
        ExactSumTest.assertCorrectlyRounded(r, q[0], q[1]);
      }
    }
  }

  @Test
  void theVarianceOfHugeIntegersIsExactToo() {
    for (int round = 0; round < 100; round++) {
      List<Long> xs = new ArrayList<>();
      int n = 2 + RANDOM.nextInt(50);
      for (int i = 0; i < n; i++) {
        xs.add(RANDOM.nextBoolean() ? Long.MAX_VALUE - RANDOM.nextInt(1000) : RANDOM.nextLong());
      }
      BigDecimal[] q = exact(xs, true);
      ExactSumTest.assertCorrectlyRounded(
          run(AGGREGATION_FUNCTION_VARIANCE_SAMPLE, "int64", xs), q[0], q[1]);
    }
  }

  @Test
  void theStandardDeviationIsTheCorrectlyRoundedRootOfTheExactVariance() {
    for (int round = 0; round < 300; round++) {
      List<Double> xs = doubles(2 + RANDOM.nextInt(200));
      if (xs.size() < 2) {
        continue;
      }
      for (boolean sample : new boolean[] {false, true}) {
        BigDecimal[] q = exact(xs, sample);
        double r =
            run(
                sample ? AGGREGATION_FUNCTION_STDDEV_SAMPLE : AGGREGATION_FUNCTION_STDDEV,
                "double",
                xs);
        assertRoundedRoot(r, q[0], q[1]);
      }
    }
  }

  /**
   * r is the double nearest sqrt(num / den): num / den lies between the squares of r's midpoints.
   */
  static void assertRoundedRoot(double r, BigDecimal num, BigDecimal den) {
    assertThat(r).isNotNegative();
    BigDecimal x = new BigDecimal(r);
    BigDecimal two = BigDecimal.valueOf(2);
    BigDecimal above = x.add(new BigDecimal(Math.nextUp(r))).divide(two);
    if (r > 0) {
      BigDecimal below = x.add(new BigDecimal(Math.nextDown(r))).divide(two);
      assertThat(below.multiply(below).multiply(den)).isLessThanOrEqualTo(num);
    }
    assertThat(above.multiply(above).multiply(den)).isGreaterThanOrEqualTo(num);
  }

  @Test
  void smallCasesComeOutAsTextbooksSay() {
    List<Double> xs = List.of(1.0, 2.0, 3.0, 4.0);
    assertThat(run(AGGREGATION_FUNCTION_VARIANCE, "double", xs)).isEqualTo(1.25);
    assertThat(run(AGGREGATION_FUNCTION_VARIANCE_SAMPLE, "double", xs)).isEqualTo(5.0 / 3);
    assertThat(run(AGGREGATION_FUNCTION_STDDEV, "double", xs)).isEqualTo(Math.sqrt(1.25));
    assertRoundedRoot(
        run(AGGREGATION_FUNCTION_STDDEV_SAMPLE, "double", xs),
        BigDecimal.valueOf(5),
        BigDecimal.valueOf(3));
    // Catastrophic cancellation for the textbook formula in doubles; exact here.
    List<Double> shifted = List.of(1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16);
    assertThat(run(AGGREGATION_FUNCTION_VARIANCE_SAMPLE, "double", shifted)).isEqualTo(30.0);
    assertThat(run(AGGREGATION_FUNCTION_VARIANCE, "double", List.of(7.0))).isEqualTo(0.0);
  }
}
