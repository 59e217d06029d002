package dev.quiver.registry.aggregate;

import static dev.quiver.proto.v1.AggregationFunction.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.proto.v1.Aggregation;
import dev.quiver.proto.v1.AggregationFunction;
import dev.quiver.registry.semantics.OrderKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every function gives the same bits whatever the order and grouping of its rows: the offline fold
 * (the window's rows, newest first, into one state), the online merge (a state per hop, each built
 * in a random arrival order, merged oldest tile first), and random groupings (random splits, merged
 * pairwise in random order, with storage round trips between steps) must serialize to the same
 * {@code Value} bytes. Inputs include nulls, ties of order keys' event times, repeated values and
 * doubles whose binary sums are inexact.
 */
class AggregateDeterminismTest {
  record Row(Object input, OrderKey order) {}

  record Case(String name, Aggregation spec, Function<Random, Object> values, int maxRows) {
    @Override
    public String toString() {
      return name;
    }
  }

  static final List<String> WORDS =
      List.of("", "a", "b", "ab", "ba", "κ", "🙂", "a longer word", "z", "Z");

  static Object hostileDouble(Random r) {
    return switch (r.nextInt(12)) {
      case 0 -> r.nextDouble() * 1e16;
      case 1 -> -r.nextDouble() * 1e16;
      case 2 -> r.nextInt(100_000) / 100.0;
      case 3 -> Math.scalb(r.nextDouble(), r.nextInt(200) - 100);
      case 4 -> Double.MIN_VALUE * r.nextInt(1000);
      case 5 -> 0.1 * (r.nextInt(21) - 10);
      case 6 -> r.nextBoolean() ? 0.0 : -0.0;
      case 7 -> 1e300 * (r.nextInt(5) - 2);
      default -> (double) r.nextInt(10);
    };
  }

  static Object hostileLong(Random r) {
    return switch (r.nextInt(5)) {
      case 0 -> Long.MAX_VALUE - r.nextInt(3);
      case 1 -> Long.MIN_VALUE + r.nextInt(3);
      case 2 -> r.nextLong();
      default -> (long) r.nextInt(20) - 10;
    };
  }

  static Object word(Random r) {
    return WORDS.get(r.nextInt(WORDS.size()));
  }

  static Object instant(Random r) {
    return Instant.ofEpochSecond(1_700_000_000L + r.nextInt(50), 1000L * r.nextInt(3));
  }

  static Object manyWords(Random r) {
    return "w" + r.nextInt(3000);
  }

  static Object nonFinite(Random r) {
    return switch (r.nextInt(8)) {
      case 0 -> Double.NaN;
      case 1 -> Double.POSITIVE_INFINITY;
      case 2 -> Double.NEGATIVE_INFINITY;
      default -> hostileDouble(r);
    };
  }

  static Case c(AggregationFunction f, String type, Function<Random, Object> values) {
    return c(f, type, Map.of(), values, 300);
  }

  static Case c(
      AggregationFunction f,
      String type,
      Map<String, Double> params,
      Function<Random, Object> values,
      int maxRows) {
    String name = f.name().substring("AGGREGATION_FUNCTION_".length()) + "(" + type + ")" + params;
    return new Case(name, Specs.spec(f, type, params), values, maxRows);
  }

  static List<Case> cases() {
    return List.of(
        c(AGGREGATION_FUNCTION_COUNT, null, r -> null),
        c(AGGREGATION_FUNCTION_COUNT, "string", AggregateDeterminismTest::word),
        c(AGGREGATION_FUNCTION_SUM, "int64", AggregateDeterminismTest::hostileLong),
        c(AGGREGATION_FUNCTION_SUM, "double", AggregateDeterminismTest::hostileDouble),
        c(AGGREGATION_FUNCTION_SUM, "double", AggregateDeterminismTest::nonFinite),
        c(AGGREGATION_FUNCTION_AVG, "int64", AggregateDeterminismTest::hostileLong),
        c(AGGREGATION_FUNCTION_AVG, "double", AggregateDeterminismTest::hostileDouble),
        c(AGGREGATION_FUNCTION_MIN, "double", AggregateDeterminismTest::nonFinite),
        c(AGGREGATION_FUNCTION_MAX, "double", AggregateDeterminismTest::hostileDouble),
        c(AGGREGATION_FUNCTION_MAX, "timestamp", AggregateDeterminismTest::instant),
        c(AGGREGATION_FUNCTION_LAST, "string", AggregateDeterminismTest::word),
        c(AGGREGATION_FUNCTION_FIRST, "double", AggregateDeterminismTest::hostileDouble),
        c(AGGREGATION_FUNCTION_VARIANCE, "double", AggregateDeterminismTest::hostileDouble),
        c(AGGREGATION_FUNCTION_VARIANCE, "int64", AggregateDeterminismTest::hostileLong),
        c(AGGREGATION_FUNCTION_STDDEV, "double", AggregateDeterminismTest::hostileDouble),
        c(AGGREGATION_FUNCTION_VARIANCE_SAMPLE, "double", AggregateDeterminismTest::nonFinite),
        c(AGGREGATION_FUNCTION_STDDEV_SAMPLE, "int64", AggregateDeterminismTest::hostileLong),
        c(
            AGGREGATION_FUNCTION_LAST_K,
            "string",
            Map.of("k", 3.0),
            AggregateDeterminismTest::word,
            300),
        c(
            AGGREGATION_FUNCTION_FIRST_K,
            "int64",
            Map.of("k", 5.0),
            AggregateDeterminismTest::hostileLong,
            300),
        c(
            AGGREGATION_FUNCTION_APPROX_COUNT_DISTINCT,
            "string",
            Map.of(),
            AggregateDeterminismTest::manyWords,
            600),
        c(
            AGGREGATION_FUNCTION_APPROX_COUNT_DISTINCT,
            "double",
            Map.of("lg_k", 4.0),
            AggregateDeterminismTest::hostileDouble,
            300),
        c(
            AGGREGATION_FUNCTION_APPROX_PERCENTILE,
            "double",
            Map.of("percentile", 0.5, "k", 8.0),
            AggregateDeterminismTest::hostileDouble,
            300),
        c(
            AGGREGATION_FUNCTION_APPROX_PERCENTILE,
            "int64",
            Map.of("percentile", 0.9),
            AggregateDeterminismTest::hostileLong,
            300),
        c(
            AGGREGATION_FUNCTION_TOP_K,
            "string",
            Map.of("k", 3.0),
            AggregateDeterminismTest::word,
            300),
        c(
            AGGREGATION_FUNCTION_TOP_K,
            "string",
            Map.of("k", 4.0),
            AggregateDeterminismTest::manyWords,
            2500));
  }

  @Test
  void everyRegisteredFunctionHasACase() {
    assertThat(cases().stream().map(c -> c.spec().getFunction()).collect(Collectors.toSet()))
        .containsExactlyInAnyOrderElementsOf(
            AggregateFunctions.all().stream().map(AggregateFunction::id).toList());
  }

  static List<Row> rows(Random r, Case c) {
    int n = r.nextInt(4) == 0 ? r.nextInt(4) : r.nextInt(c.maxRows() + 1);
    List<Row> rows = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      Object v = r.nextInt(7) == 0 ? null : c.values().apply(r);
      long event = r.nextInt(20 * (int) Specs.HOP_MILLIS); // many ties, ~20 tiles
      long created = r.nextBoolean() ? OrderKey.NO_CREATED_TIME : event + r.nextInt(3);
      rows.add(new Row(v, new OrderKey(event, created, r.nextInt(3), i)));
    }
    return rows;
  }

  static String bits(Aggregator a, AggregateState s) {
    return HexFormat.of().formatHex(a.result(s).toByteArray());
  }

  /** The offline engine's way: the window's rows, newest first, into one state. */
  static String offline(Aggregator a, List<Row> rows) {
    List<Row> newestFirst = new ArrayList<>(rows);
    newestFirst.sort(Comparator.comparing(Row::order).reversed());
    AggregateState s = a.empty();
    newestFirst.forEach(row -> a.add(s, row.input(), row.order()));
    return bits(a, s);
  }

  /** The online store's way: a tile per hop in arrival order, stored, merged oldest first. */
  static String online(Aggregator a, List<Row> rows, Random r) {
    List<Row> arrival = new ArrayList<>(rows);
    Collections.shuffle(arrival, r);
    TreeMap<Long, byte[]> tiles = new TreeMap<>();
    for (Row row : arrival) {
      long t = a.window().tileStart(row.order().eventTimeMicros());
      byte[] stored = tiles.get(t);
      AggregateState s = stored == null ? a.empty() : AggregateState.decode(stored);
      a.add(s, row.input(), row.order());
      tiles.put(t, s.encode());
    }
    AggregateState window = a.empty();
    tiles.values().forEach(t -> a.merge(window, AggregateState.decode(t)));
    return bits(a, window);
  }

  /** Random groups, each built in random order, merged pairwise at random. */
  static String grouped(Aggregator a, List<Row> rows, Random r) {
    List<Row> shuffled = new ArrayList<>(rows);
    Collections.shuffle(shuffled, r);
    List<AggregateState> states = new ArrayList<>();
    for (int at = 0; at < shuffled.size() || states.isEmpty(); ) {
      int n = r.nextInt(1 + Math.max(1, shuffled.size() / 3));
      AggregateState s = a.empty();
      for (Row row : shuffled.subList(at, Math.min(shuffled.size(), at + n))) {
        a.add(s, row.input(), row.order());
        if (r.nextInt(10) == 0) {
          s = roundTrip(s);
        }
      }
      states.add(r.nextBoolean() ? roundTrip(s) : s);
      at += n;
    }
    while (states.size() > 1) {
      AggregateState into = states.remove(r.nextInt(states.size()));
      AggregateState from = states.remove(r.nextInt(states.size()));
      a.merge(into, from);
      states.add(r.nextBoolean() ? roundTrip(into) : into);
    }
    return bits(a, states.get(0));
  }

  static AggregateState roundTrip(AggregateState s) {
    return AggregateState.decode(s.encode());
  }

  static Stream<Case> allCases() {
    return cases().stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("allCases")
  void theSameBitsInAnyOrderAndGrouping(Case c) {
    Random r = new Random(c.name().hashCode());
    Aggregator a = new Aggregator(c.spec());
    int trials = c.maxRows() > 1000 ? 6 : 40;
    for (int trial = 0; trial < trials; trial++) {
      List<Row> rows = rows(r, c);
      String expected = offline(a, rows);
      for (int variant = 0; variant < 3; variant++) {
        assertThat(online(a, rows, r)).as("%s online, trial %d", c, trial).isEqualTo(expected);
        assertThat(grouped(a, rows, r)).as("%s grouped, trial %d", c, trial).isEqualTo(expected);
      }
    }
  }

  @Test
  void pastItsExactRegimeTopKStillGivesTheSameBits() {
    Random r = new Random(5);
    Case manyWords =
        cases().stream()
            .filter(c -> c.spec().getFunction() == AGGREGATION_FUNCTION_TOP_K && c.maxRows() > 1000)
            .findFirst()
            .orElseThrow();
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 2500; i++) {
      rows.add(new Row(manyWords(r), new OrderKey(r.nextInt(200), OrderKey.NO_CREATED_TIME, 0, i)));
    }
    assertThat(rows.stream().map(Row::input).distinct().count())
        .isGreaterThan(TopKFunction.DISTINCT);
    Aggregator a = new Aggregator(manyWords.spec());
    String expected = offline(a, rows);
    assertThat(online(a, rows, r)).isEqualTo(expected);
    assertThat(grouped(a, rows, r)).isEqualTo(expected);
  }

  @Test
  void theDoublesAreOnesWhosePlainSumDependsOnTheOrder() {
    Random r = new Random(5);
    List<Double> ds = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      ds.add((Double) hostileDouble(r));
    }
    double forward = 0;
    for (double d : ds) {
      forward += d;
    }
    Collections.reverse(ds);
    double backward = 0;
    for (double d : ds) {
      backward += d;
    }
    assertThat(forward).isNotEqualTo(backward);
  }
}
