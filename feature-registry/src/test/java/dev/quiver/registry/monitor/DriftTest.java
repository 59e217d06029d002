package dev.quiver.registry.monitor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.quiver.registry.Types;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DriftTest {
  static FeatureProfile numbers(List<Double> values) {
    FeatureProfile p = FeatureProfile.of(Types.parse("double").get());
    values.forEach(p::add);
    return p;
  }

  static List<Double> normal(Random r, int n, double mean, double sd, double nullRate) {
    List<Double> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(r.nextDouble() < nullRate ? null : mean + sd * r.nextGaussian());
    }
    return out;
  }

  /** The shares of raw values in the bins, counted exactly: the reference. */
  static double[] exactShares(List<?> values, Drift.Bins bins) {
    double[] out = new double[bins.size()];
    for (Object v : values) {
      int bin;
      if (v == null) {
        bin = out.length - 1;
      } else if (bins.edges() != null) {
        double d = (Double) v;
        bin = 0;
        while (bin < bins.edges().length && d > bins.edges()[bin]) {
          bin++;
        }
      } else {
        int at = bins.items().indexOf(String.valueOf(v));
        bin = at >= 0 ? at : bins.items().size();
      }
      out[bin]++;
    }
    for (int i = 0; i < out.length; i++) {
      out[i] /= values.size();
    }
    return out;
  }

  /** PSI written out plainly, with the same smoothing. */
  static double exactPsi(double[] e, double[] a) {
    double sum = 0;
    for (int i = 0; i < e.length; i++) {
      double x = e[i] == 0 ? 1e-6 : e[i];
      double y = a[i] == 0 ? 1e-6 : a[i];
      sum += (y - x) * Math.log(y / x);
    }
    return sum;
  }

  @Test
  void anUnchangedDistributionStaysUnderTheWarningAndAShiftedOneGoesOverTheAlert() {
    Random r = new Random(1);
    List<Double> training = normal(r, 20_000, 100, 15, 0.02);
    FeatureProfile baseline = numbers(training);
    List<Double> same = normal(r, 10_000, 100, 15, 0.02);
    List<Double> shifted = normal(r, 10_000, 115, 15, 0.02);

    Drift.Report calm = Drift.compare(baseline, numbers(same));
    Drift.Report moved = Drift.compare(baseline, numbers(shifted));
    assertThat(calm.psi().get()).isLessThan(0.1);
    assertThat(moved.psi().get()).isGreaterThan(0.25);
    assertThat(calm.jensenShannon().get()).isBetween(0.0, 0.1);
    assertThat(moved.jensenShannon().get()).isGreaterThan(calm.jensenShannon().get());
    assertThat(calm.kolmogorovSmirnov().get()).isLessThan(0.05);
    assertThat(moved.kolmogorovSmirnov().get()).isGreaterThan(0.3);

    // The same statistic computed exactly, on the same bins, from the raw values.
    Drift.Bins bins = Drift.bins(baseline);
    double[] e = exactShares(training, bins);
    for (List<Double> live : List.of(same, shifted)) {
      double exact = exactPsi(e, exactShares(live, bins));
      double sketched = Drift.compare(baseline, numbers(live)).psi().get();
      // Shares come from KLL, within its rank error; the PSI within what that error moves it.
      assertThat(sketched).isCloseTo(exact, within(0.01 + 0.05 * exact));
    }
  }

  @Test
  void categoriesAreBinnedByTheBaselinesTopItemsAndMatchAnExactCountExactly() {
    Random r = new Random(2);
    String[] countries = {"US", "FR", "DE", "GB", "NL", "ES", "IT", "PL", "SE", "BE", "PT", "AT"};
    List<String> training = new ArrayList<>();
    List<String> live = new ArrayList<>();
    for (int i = 0; i < 12_000; i++) {
      training.add(countries[Math.min(countries.length - 1, (int) Math.abs(r.nextGaussian() * 3))]);
      // Live traffic moves towards the tail of the list, and has more nulls.
      live.add(
          r.nextInt(20) == 0
              ? null
              : countries[Math.min(countries.length - 1, (int) Math.abs(r.nextGaussian() * 5))]);
    }
    FeatureProfile baseline = FeatureProfile.of(Types.parse("string").get());
    training.forEach(baseline::add);
    FeatureProfile current = FeatureProfile.of(Types.parse("string").get());
    live.forEach(current::add);

    Drift.Bins bins = Drift.bins(baseline);
    assertThat(bins.items()).hasSize(Drift.TOP_ITEMS).startsWith("US", "FR");
    double exact = exactPsi(exactShares(training, bins), exactShares(live, bins));
    Drift.Report report = Drift.compare(baseline, current);
    // Fewer distinct values than the frequent-items map holds: its counts are exact.
    assertThat(report.psi().get()).isCloseTo(exact, within(1e-12));
    assertThat(report.psi().get()).isGreaterThan(0.1);
    assertThat(report.kolmogorovSmirnov()).isEmpty();
  }

  @Test
  void discreteValuesRepeatingDecilesAreBinnedByTheirDistinctEdges() {
    // Counts of a few values: most deciles of the baseline are equal.
    Random r = new Random(5);
    List<Double> training = new ArrayList<>();
    List<Double> live = new ArrayList<>();
    for (int i = 0; i < 6_000; i++) {
      training.add((double) Math.min(4, (int) Math.abs(r.nextGaussian() * 1.5)));
      live.add((double) Math.min(4, (int) Math.abs(r.nextGaussian() * 3)));
    }
    FeatureProfile baseline = numbers(training);
    Drift.Bins bins = Drift.bins(baseline);
    assertThat(bins.edges()).hasSizeLessThan(9).isSorted().doesNotHaveDuplicates();

    Drift.Report report = Drift.compare(baseline, numbers(live));
    double exact = exactPsi(exactShares(training, bins), exactShares(live, bins));
    assertThat(report.psi().get()).isCloseTo(exact, within(0.01 + 0.05 * exact));
    assertThat(report.psi().get()).isGreaterThan(0.25);
    assertThat(Drift.compare(baseline, numbers(training)).psi().get()).isLessThan(0.01);
  }

  @Test
  void nothingIsReportedBelowTheMinimumSampleSize() {
    Random r = new Random(3);
    FeatureProfile baseline = numbers(normal(r, 5_000, 0, 1, 0));
    Drift.Report few = Drift.compare(baseline, numbers(normal(r, 999, 5, 1, 0)));
    assertThat(few.psi()).isEmpty();
    assertThat(few.jensenShannon()).isEmpty();
    assertThat(few.liveCount()).isEqualTo(999);
  }

  @Test
  void profilesMergeAndSurviveTheirStorageForm() {
    Random r = new Random(4);
    List<Double> values = normal(r, 6_000, 10, 2, 0.1);
    FeatureProfile whole = numbers(values);
    FeatureProfile a = numbers(values.subList(0, 2_500));
    FeatureProfile b = numbers(values.subList(2_500, values.size()));
    a.merge(FeatureProfile.fromBytes(b.toBytes()));
    FeatureProfile restored = FeatureProfile.fromBytes(a.toBytes());
    assertThat(restored.count()).isEqualTo(whole.count());
    assertThat(restored.nulls()).isEqualTo(whole.nulls());
    assertThat(Drift.compare(whole, restored).psi().get()).isLessThan(0.01);

    FeatureProfile items = FeatureProfile.of(Types.parse("bool").get());
    for (int i = 0; i < 1_500; i++) {
      items.add(i % 3 == 0 ? null : i % 2 == 0);
    }
    FeatureProfile back = FeatureProfile.fromBytes(items.toBytes());
    assertThat(back.nullRate()).isEqualTo(items.nullRate());
    assertThat(Drift.compare(items, back).psi().get()).isCloseTo(0.0, within(1e-12));
  }
}
