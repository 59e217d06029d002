package dev.quiver.registry.monitor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.apache.datasketches.frequencies.ErrorType;
import org.apache.datasketches.frequencies.ItemsSketch;
import org.apache.datasketches.quantilescommon.QuantileSearchCriteria;

/**
 * How far a live profile has drifted from a baseline, by the usual statistics, on bins the baseline
 * defines:
 *
 * <ul>
 *   <li>Bins: numbers fall into the baseline's deciles (10 bins, edges at its 10th...90th
 *       percentiles, a bin holding values up to and including its upper edge; equal deciles, as a
 *       discrete feature has, are one edge); strings and other items into the baseline's {@link
 *       #TOP_ITEMS} most frequent values plus "other". Nulls are one more bin on both kinds, so a
 *       surge of nulls is drift too.
 *   <li>PSI: {@code sum((a - e) * ln(a / e))} over the bins, {@code e} the baseline's share and
 *       {@code a} the live one; an empty bin counts as {@link #EPSILON} (as Chronon and Hopsworks
 *       do), so one empty bin does not make it infinite.
 *   <li>Jensen–Shannon distance: the square root of the JS divergence in base 2 (0 to 1), on the
 *       same bins, unsmoothed.
 *   <li>Kolmogorov–Smirnov distance (numbers): the largest gap between the two CDFs of the non-null
 *       values, over 100 quantiles of each.
 * </ul>
 *
 * Nothing is reported below {@link #MIN_SAMPLES} values in either profile. Shares come from the
 * sketches: within KLL's rank error for numbers (about 0.8%), exact for items while fewer than the
 * frequent-items map size distinct values were seen.
 */
public final class Drift {
  private Drift() {}

  /** The share an empty bin counts as. */
  public static final double EPSILON = 1e-6;

  /** The fewest values either profile must hold for a statistic to be reported. */
  public static final long MIN_SAMPLES = 1_000;

  /** Categories a baseline's bins name; the rest are "other". */
  public static final int TOP_ITEMS = 10;

  private static final double[] DECILES = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};

  /**
   * The bins of a baseline: upper edges of the numeric bins (the last bin is unbounded above), or
   * the named categories.
   */
  public record Bins(double[] edges, List<String> items) {
    public int size() {
      // Values, then nulls.
      return (edges != null ? edges.length + 1 : items.size() + 1) + 1;
    }
  }

  /** The statistics of one feature; each empty when there are too few values. */
  public record Report(
      long baselineCount,
      long liveCount,
      Optional<Double> psi,
      Optional<Double> jensenShannon,
      Optional<Double> kolmogorovSmirnov) {}

  /** The bins {@code baseline} defines. */
  public static Bins bins(FeatureProfile baseline) {
    if (baseline.numeric()) {
      double[] edges =
          baseline.quantiles().isEmpty()
              ? new double[0]
              : baseline.quantiles().getQuantiles(DECILES, QuantileSearchCriteria.INCLUSIVE);
      // A discrete feature (a count, a flag held as a number) repeats deciles; equal edges are one
      // edge, as the bins between them could hold no value in either profile.
      return new Bins(Arrays.stream(edges).distinct().toArray(), null);
    }
    List<String> top = new ArrayList<>();
    ItemsSketch.Row<String>[] rows =
        baseline.items().getFrequentItems(ErrorType.NO_FALSE_NEGATIVES);
    Arrays.sort(
        rows,
        (a, b) -> {
          int c = Long.compare(b.getEstimate(), a.getEstimate());
          return c != 0 ? c : a.getItem().compareTo(b.getItem());
        });
    for (int i = 0; i < rows.length && top.size() < TOP_ITEMS; i++) {
      top.add(rows[i].getItem());
    }
    return new Bins(null, List.copyOf(top));
  }

  /** The share of {@code p}'s values in each bin, nulls last; they sum to 1 (0s over no values). */
  public static double[] shares(FeatureProfile p, Bins bins) {
    double[] out = new double[bins.size()];
    if (p.count() == 0) {
      return out;
    }
    double values = p.count() - p.nulls();
    double total = p.count();
    if (bins.edges() != null) {
      if (values > 0 && !p.quantiles().isEmpty()) {
        if (bins.edges().length == 0) {
          out[0] = values / total;
        } else {
          double[] cdf = p.quantiles().getCDF(bins.edges(), QuantileSearchCriteria.INCLUSIVE);
          double previous = 0;
          for (int i = 0; i < cdf.length; i++) {
            out[i] = (cdf[i] - previous) * values / total;
            previous = cdf[i];
          }
        }
      }
    } else {
      double named = 0;
      for (int i = 0; i < bins.items().size(); i++) {
        out[i] = Math.min(values, p.items().getEstimate(bins.items().get(i))) / total;
        named += out[i];
      }
      out[bins.items().size()] = Math.max(0, values / total - named);
    }
    out[out.length - 1] = p.nulls() / total;
    return out;
  }

  /**
   * PSI of live shares {@code a} against baseline shares {@code e}, empty bins as {@link #EPSILON}.
   */
  public static double psi(double[] e, double[] a) {
    double sum = 0;
    for (int i = 0; i < e.length; i++) {
      double ei = Math.max(e[i], EPSILON);
      double ai = Math.max(a[i], EPSILON);
      sum += (ai - ei) * Math.log(ai / ei);
    }
    return sum;
  }

  /** The Jensen–Shannon distance of two share vectors, base 2: 0 (same) to 1 (disjoint). */
  public static double jensenShannon(double[] e, double[] a) {
    double divergence = 0;
    for (int i = 0; i < e.length; i++) {
      double m = (e[i] + a[i]) / 2;
      if (e[i] > 0) {
        divergence += 0.5 * e[i] * log2(e[i] / m);
      }
      if (a[i] > 0) {
        divergence += 0.5 * a[i] * log2(a[i] / m);
      }
    }
    return Math.sqrt(Math.max(0, divergence));
  }

  private static double log2(double x) {
    return Math.log(x) / Math.log(2);
  }

  /** The largest gap between the CDFs of two numeric profiles' non-null values. */
  static double kolmogorovSmirnov(FeatureProfile baseline, FeatureProfile live) {
    double[] ranks = new double[101];
    for (int i = 0; i <= 100; i++) {
      ranks[i] = i / 100.0;
    }
    double[] points =
        concat(
            baseline.quantiles().getQuantiles(ranks, QuantileSearchCriteria.INCLUSIVE),
            live.quantiles().getQuantiles(ranks, QuantileSearchCriteria.INCLUSIVE));
    Arrays.sort(points);
    points = Arrays.stream(points).distinct().toArray();
    double[] b = baseline.quantiles().getCDF(points, QuantileSearchCriteria.INCLUSIVE);
    double[] l = live.quantiles().getCDF(points, QuantileSearchCriteria.INCLUSIVE);
    double gap = 0;
    for (int i = 0; i < points.length; i++) {
      gap = Math.max(gap, Math.abs(b[i] - l[i]));
    }
    return gap;
  }

  private static double[] concat(double[] a, double[] b) {
    double[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  /** Every statistic of {@code live} against {@code baseline}. */
  public static Report compare(FeatureProfile baseline, FeatureProfile live) {
    return compare(baseline, live, MIN_SAMPLES);
  }

  /** Every statistic of {@code live} against {@code baseline}; none below {@code minSamples}. */
  public static Report compare(FeatureProfile baseline, FeatureProfile live, long minSamples) {
    if (baseline.count() < minSamples || live.count() < minSamples) {
      return new Report(
          baseline.count(), live.count(), Optional.empty(), Optional.empty(), Optional.empty());
    }
    Bins bins = bins(baseline);
    double[] e = shares(baseline, bins);
    double[] a = shares(live, bins);
    Optional<Double> ks =
        baseline.numeric() && !baseline.quantiles().isEmpty() && !live.quantiles().isEmpty()
            ? Optional.of(kolmogorovSmirnov(baseline, live))
            : Optional.empty();
    return new Report(
        baseline.count(),
        live.count(),
        Optional.of(psi(e, a)),
        Optional.of(jensenShannon(e, a)),
        ks);
  }
}
