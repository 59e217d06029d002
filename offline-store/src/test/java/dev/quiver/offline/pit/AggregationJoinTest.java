package dev.quiver.offline.pit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.offline.pit.PointInTimeEngine.ViewInput;
import dev.quiver.offline.pit.PointInTimeEngine.ViewRows;
import dev.quiver.proto.JavaValues;
import dev.quiver.proto.v1.Aggregation;
import dev.quiver.proto.v1.AggregationFunction;
import dev.quiver.registry.Durations;
import dev.quiver.registry.Types;
import dev.quiver.registry.aggregate.AggregateFunction;
import dev.quiver.registry.aggregate.AggregateFunctions;
import dev.quiver.registry.aggregate.AggregateParameter;
import dev.quiver.registry.aggregate.AggregateState;
import dev.quiver.registry.aggregate.Aggregator;
import dev.quiver.registry.aggregate.ParameterRule;
import dev.quiver.registry.semantics.OrderKey;
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

  static Aggregation typed(String name, AggregationFunction f, long windowMs, long hopMs, int k) {
    Aggregation.Builder a =
        agg(name, f, "x", windowMs, hopMs).toBuilder().setInputType(Types.parse("double").get());
    AggregateFunction fn = AggregateFunctions.of(f);
    for (ParameterRule rule : fn.parameters()) {
      double v =
          rule.parameter() == AggregateParameter.PERCENTILE
              ? 0.75
              : rule.parameter() == AggregateParameter.K ? Math.max(rule.min(), k) : rule.min();
      rule.parameter().set(a, v);
    }
    return a.setType(fn.resultType(Types.parse("double").get()).orElseThrow()).build();
  }

  /**
   * Every function over the point-in-time engine's fold (rows newest first) gives what the online
   * store's tiles give (a state per hop built in arrival order, stored, merged oldest first), list
   * results included: the same objects, compared with {@code equals} (bits, for doubles).
   */
  @Test
  void everyFunctionAgreesWithTheOnlineTileMerge() throws Exception {
    Random r = new Random(17);
    List<Aggregation> specs = new ArrayList<>();
    for (AggregateFunction f : AggregateFunctions.all()) {
      if (f.id() != AggregationFunction.AGGREGATION_FUNCTION_COUNT) {
        specs.add(typed("a" + specs.size(), f.id(), 60, 10, 3 + r.nextInt(3)));
      }
    }
    for (int trial = 0; trial < 25; trial++) {
      List<ViewRows> rows = new ArrayList<>();
      int n = r.nextInt(80);
      for (int i = 0; i < n; i++) {
        Double x =
            r.nextInt(6) == 0
                ? null
                : r.nextBoolean() ? (double) r.nextInt(5) : r.nextDouble() * 1e16 - 5e15;
        Object[] values = new Object[1 + specs.size()];
        java.util.Arrays.fill(values, x);
        rows.add(
            new ViewRows(
                List.of("k" + r.nextInt(2)),
                1000L * r.nextInt(150),
                PointInTimeEngine.NO_CREATED,
                r.nextInt(2),
                i,
                values));
      }
      List<Object[]> table = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        table.add(new Object[] {"k" + r.nextInt(3), 1000L * r.nextInt(200)});
      }
      List<String> wanted = new ArrayList<>(List.of("v__x"));
      specs.forEach(a -> wanted.add("v__" + a.getName()));
      ViewInput view =
          new ViewInput(
              "v",
              List.of("id"),
              Duration.ZERO,
              List.of("x"),
              specs,
              () -> PointInTimeEngineTest.iterate(rows));
      List<Object[]> out = new ArrayList<>();
      new PointInTimeEngine(
              new PointInTimeEngine.Options(1 + r.nextInt(4), dir.resolve("f" + trial), x -> {}))
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
              Map.of(view, wanted),
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
            new ArrayList<>(
                rows.stream()
                    .filter(x -> x.key().get(0).equals(key) && x.eventMicros() <= t)
                    .toList());
        if (mine.isEmpty()) {
          continue;
        }
        java.util.Collections.shuffle(mine, r);
        for (int a = 0; a < specs.size(); a++) {
          Aggregator agg = new Aggregator(specs.get(a));
          java.util.TreeMap<Long, byte[]> tiles = new java.util.TreeMap<>();
          for (ViewRows row : mine) {
            long us = row.eventMicros();
            if (!agg.window().contains(us, t)) {
              continue;
            }
            byte[] stored = tiles.get(agg.window().tileStart(us));
            AggregateState s = stored == null ? agg.empty() : AggregateState.decode(stored);
            agg.add(
                s,
                row.values()[1 + a],
                new OrderKey(us, row.createdMicros(), row.partition(), row.offset()));
            tiles.put(agg.window().tileStart(us), s.encode());
          }
          AggregateState window = agg.empty();
          tiles.values().forEach(b -> agg.merge(window, AggregateState.decode(b)));
          Object online = JavaValues.toJava(agg.result(window));
          assertThat(out.get(i)[3 + a])
              .as("trial %d row %d %s", trial, i, specs.get(a).getFunction())
              .isEqualTo(online);
        }
      }
    }
  }
}
