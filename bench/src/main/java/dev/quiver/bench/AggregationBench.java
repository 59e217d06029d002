package dev.quiver.bench;

import dev.quiver.proto.v1.Aggregation;
import dev.quiver.proto.v1.AggregationFunction;
import dev.quiver.registry.Durations;
import dev.quiver.registry.Types;
import dev.quiver.registry.aggregate.AggregateState;
import dev.quiver.registry.aggregate.Aggregator;
import dev.quiver.registry.semantics.OrderKey;
import java.time.Duration;
import java.util.Random;

/**
 * What exact, order-independent arithmetic costs: folding rows into tiles and merging tiles into
 * windows with the aggregations' own code, against the same work done with plain {@code double +=}
 * (the peer: what the sums cost before they were exact, rounded in whatever order rows came).
 *
 * <p>Usage: {@code java -cp bench/target/quiver-bench.jar dev.quiver.bench.AggregationBench [rows]}
 */
public final class AggregationBench {
  private AggregationBench() {}

  static volatile double sink;

  public static void main(String[] args) {
    int rows = args.length > 0 ? Integer.parseInt(args[0]) : 2_000_000;
    Random r = new Random(7);
    double[] values = new double[rows];
    for (int i = 0; i < rows; i++) {
      // Amounts of every size, as payments are, and some that cancel.
      values[i] = (r.nextInt(4) == 0 ? -1 : 1) * Math.pow(10, r.nextInt(12) - 2) * r.nextDouble();
    }
    int perTile = 100;
    System.out.printf("%,d rows, %d rows per tile, medians of 5 runs%n", rows, perTile);
    System.out.println(
        "| function | add (ns/row) | plain += (ns/row) | ratio | merge (ns/tile) | lookup of one"
            + " tile (ns) |");
    System.out.println("|---|---|---|---|---|---|");
    for (AggregationFunction f :
        new AggregationFunction[] {
          AggregationFunction.AGGREGATION_FUNCTION_SUM,
          AggregationFunction.AGGREGATION_FUNCTION_AVG,
          AggregationFunction.AGGREGATION_FUNCTION_VARIANCE
        }) {
      Aggregator agg = new Aggregator(spec(f));
      double[] add = new double[5];
      double[] plain = new double[5];
      double[] merge = new double[5];
      double[] lookup = new double[5];
      for (int run = 0; run < 5; run++) {
        long t0 = System.nanoTime();
        AggregateState[] tiles = new AggregateState[rows / perTile];
        for (int tile = 0; tile < tiles.length; tile++) {
          AggregateState s = agg.empty();
          for (int i = tile * perTile, end = i + perTile; i < end; i++) {
            agg.add(s, values[i], new OrderKey(i, OrderKey.NO_CREATED_TIME, 0, i));
          }
          tiles[tile] = s;
        }
        long t1 = System.nanoTime();
        double total = 0;
        double squares = 0;
        for (int tile = 0; tile < tiles.length; tile++) {
          double s = 0;
          double q = 0;
          for (int i = tile * perTile, end = i + perTile; i < end; i++) {
            s += values[i];
            q += values[i] * values[i];
          }
          total += s;
          squares += q;
        }
        sink = total + squares;
        long t2 = System.nanoTime();
        AggregateState window = agg.empty();
        for (AggregateState tile : tiles) {
          agg.merge(window, AggregateState.decode(tile.encode()));
        }
        sink = agg.result(window).getDoubleValue();
        long t3 = System.nanoTime();
        byte[][] stored = new byte[tiles.length][];
        for (int tile = 0; tile < tiles.length; tile++) {
          stored[tile] = tiles[tile].encode();
        }
        long t4 = System.nanoTime();
        double results = 0;
        for (byte[] b : stored) {
          // What a lookup does for a window of one tile: read it, merge it, round the result.
          AggregateState w = agg.empty();
          agg.merge(w, AggregateState.decode(b));
          results += agg.result(w).getDoubleValue();
        }
        sink = results;
        long t5 = System.nanoTime();
        lookup[run] = (t5 - t4) / (double) tiles.length;
        add[run] = (t1 - t0) / (double) rows;
        plain[run] = (t2 - t1) / (double) rows;
        merge[run] = (t3 - t2) / (double) tiles.length;
      }
      double a = median(add);
      double p = median(plain);
      System.out.printf(
          "| %s | %.1f | %.1f | %.0fx | %.0f | %.0f |%n",
          f.name().substring("AGGREGATION_FUNCTION_".length()).toLowerCase(java.util.Locale.ROOT),
          a,
          p,
          a / p,
          median(merge),
          median(lookup));
    }
  }

  private static Aggregation spec(AggregationFunction f) {
    return Aggregation.newBuilder()
        .setName("x")
        .setFunction(f)
        .setInput("x")
        .setWindow(Durations.toProto(Duration.ofHours(1)))
        .setHop(Durations.toProto(Duration.ofMinutes(5)))
        .setInputType(Types.parse("double").get())
        .setType(Types.parse("double").get())
        .build();
  }

  private static double median(double[] xs) {
    double[] s = xs.clone();
    java.util.Arrays.sort(s);
    return s[s.length / 2];
  }
}
