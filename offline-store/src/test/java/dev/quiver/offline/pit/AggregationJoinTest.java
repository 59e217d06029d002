package dev.quiver.offline.pit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.offline.pit.PointInTimeEngine.ViewInput;
import dev.quiver.offline.pit.PointInTimeEngine.ViewRows;
import dev.quiver.proto.v1.Aggregation;
import dev.quiver.proto.v1.AggregationFunction;
import dev.quiver.registry.Durations;
import dev.quiver.registry.Types;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Windowed aggregations in point-in-time joins, against folding each window by brute force. */
class AggregationJoinTest {
  @TempDir Path dir;

  static Aggregation agg(
      String name, AggregationFunction f, String input, long windowMs, long hopMs) {
    Aggregation.Builder a =
        Aggregation.newBuilder()
            .setName(name)
            .setFunction(f)
            .setWindow(Durations.toProto(Duration.ofMillis(windowMs)))
            .setHop(Durations.toProto(Duration.ofMillis(hopMs)));
    if (input != null) {
      a.setInput(input).setInputType(Types.parse("double").get());
    }
    a.setType(
        Types.parse(f == AggregationFunction.AGGREGATION_FUNCTION_COUNT ? "int64" : "double")
            .get());
    return a.build();
  }

  @Test
  void sawtoothWindowsAgreeWithBruteForce() throws Exception {
    Random r = new Random(9);
    Aggregation count = agg("n", AggregationFunction.AGGREGATION_FUNCTION_COUNT, null, 50, 10);
    Aggregation sum = agg("total", AggregationFunction.AGGREGATION_FUNCTION_SUM, "x", 35, 5);
    Aggregation max = agg("peak", AggregationFunction.AGGREGATION_FUNCTION_MAX, "x", 80, 20);
    for (int trial = 0; trial < 200; trial++) {
      List<ViewRows> rows = new ArrayList<>();
      int n = r.nextInt(50);
      for (int i = 0; i < n; i++) {
        Double x = r.nextInt(5) == 0 ? null : (double) r.nextInt(100);
        rows.add(
            new ViewRows(
                List.of("k" + r.nextInt(3)),
                1000L * r.nextInt(200),
                PointInTimeEngine.NO_CREATED,
                0,
                i,
                new Object[] {x, null, x, x}));
      }
      List<Object[]> table = new ArrayList<>();
      for (int i = 0; i < 30; i++) {
        table.add(new Object[] {"k" + r.nextInt(4), 1000L * r.nextInt(260)});
      }
      ViewInput view =
          new ViewInput(
              "v",
              List.of("id"),
              Duration.ZERO,
              List.of("x"),
              List.of(count, sum, max),
              () -> PointInTimeEngineTest.iterate(rows));
      List<Object[]> out = new ArrayList<>();
      new PointInTimeEngine(
              new PointInTimeEngine.Options(1 + r.nextInt(8), dir.resolve("s" + trial), x -> {}))
          .join(
              new PointInTimeEngine.Table() {
                @Override
                public List<String> columns() {
                  return List.of("id", "ts");
                }

                @Override
                public PointInTimeEngine.CloseableIterator<Object[]> rows() {
                  return PointInTimeEngineTest.iterate(table);
                }
              },
              "ts",
              List.of(view),
              Map.of(view, List.of("v__x", "v__n", "v__total", "v__peak")),
              new PointInTimeEngine.Output() {
                @Override
                public void columns(List<String> names) {}

                @Override
                public void row(Object[] values) {
                  out.add(values);
                }
              });
      for (int i = 0; i < table.size(); i++) {
        Object key = table.get(i)[0];
        long t = (Long) table.get(i)[1];
        List<ViewRows> mine =
            rows.stream().filter(x -> x.key().get(0).equals(key) && x.eventMicros() <= t).toList();
        Object[] got = out.get(i);
        if (mine.isEmpty()) {
          assertThat(got[3]).as("trial %d row %d: no row yet", trial, i).isNull();
          continue;
        }
        long tMs = t / 1000;
        long startN = Math.floorDiv(tMs - 50, 10) * 10 * 1000;
        long startSum = Math.floorDiv(tMs - 35, 5) * 5 * 1000;
        long startMax = Math.floorDiv(tMs - 80, 20) * 20 * 1000;
        long expectedCount = mine.stream().filter(x -> x.eventMicros() >= startN).count();
        List<Double> inSum =
            mine.stream()
                .filter(x -> x.eventMicros() >= startSum)
                .map(x -> (Double) x.values()[2])
                .filter(x -> x != null)
                .toList();
        List<Double> inMax =
            mine.stream()
                .filter(x -> x.eventMicros() >= startMax)
                .map(x -> (Double) x.values()[3])
                .filter(x -> x != null)
                .toList();
        assertThat(got[3]).as("trial %d row %d count", trial, i).isEqualTo(expectedCount);
        assertThat(got[4])
            .as("trial %d row %d sum", trial, i)
            .isEqualTo(
                inSum.isEmpty() ? null : inSum.stream().mapToDouble(Double::doubleValue).sum());
        assertThat(got[5])
            .as("trial %d row %d max", trial, i)
            .isEqualTo(
                inMax.isEmpty()
                    ? null
                    : inMax.stream().mapToDouble(Double::doubleValue).max().getAsDouble());
      }
    }
  }
}
