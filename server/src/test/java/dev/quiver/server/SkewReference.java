package dev.quiver.server;

import com.google.protobuf.Timestamp;
import dev.quiver.proto.v1.DoubleList;
import dev.quiver.proto.v1.FeatureStatus;
import dev.quiver.proto.v1.Int64List;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.StringList;
import dev.quiver.proto.v1.TimestampList;
import dev.quiver.proto.v1.Value;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * What the Semantics of the design say a lookup at {@code t} and an export row at {@code t} must
 * give, worked out from the events as they were sent: every time in microseconds, the latest row by
 * {@code (event_ts, created_ts, partition, offset)} among rows with {@code event_ts <= t}, the TTL
 * as {@code t - event_ts <= ttl}, sawtooth windows {@code floor((t - W) / h) * h <= event_ts <= t},
 * nulls skipped, sums, means and spreads in exact rational arithmetic rounded once, and the choices
 * of {@code first}, {@code last_k}, {@code first_k}, {@code top_k} and {@code approx_percentile}
 * (while it is exact) as the registry reference defines them.
 *
 * <p>It also declares the registry the contract runs against: a view {@code profile} of row-level
 * features with a TTL, and a view {@code activity} of windowed aggregations. A new aggregation
 * function is one more line in {@link #aggregations()}: its registry spelling (with its parameters)
 * and its reference result over the rows of a window, or none where no exact result can be worked
 * out independently (then only online and export are compared with each other).
 */
final class SkewReference {
  private SkewReference() {}

  static final long SECOND = 1_000_000L;
  static final long MINUTE = 60 * SECOND;
  static final long HOUR = 60 * MINUTE;
  static final long DAY = 24 * HOUR;

  /** The TTL of {@code profile}. */
  static final long TTL = 10 * MINUTE;

  /** A created time that is absent or null: it sorts before any value. */
  static final long NO_CREATED = Long.MIN_VALUE;

  /** One source event as the reference reads it: times in microseconds, fields by name. */
  interface Row {
    long eventMicros();

    /** The created time, or {@link #NO_CREATED}. */
    long createdMicros();

    int partition();

    long offset();

    /**
     * The value of a source field: Double, Long, String, or Long epoch microseconds for timestamps;
     * null when absent or null.
     */
    Object field(String name);
  }

  /** The order of rows: {@code (event_ts, created_ts, partition, offset)}, oldest first. */
  static final Comparator<Row> ORDER =
      Comparator.comparingLong(Row::eventMicros)
          .thenComparingLong(Row::createdMicros)
          .thenComparingInt(Row::partition)
          .thenComparingLong(Row::offset);

  /** A sawtooth window: length and hop. */
  record Window(String suffix, String length, String hop, long lengthMicros, long hopMicros) {
    /** The earliest event time the window at {@code t} covers: {@code floor((t - W) / h) * h}. */
    long start(long t) {
      return Math.floorDiv(t - lengthMicros, hopMicros) * hopMicros;
    }

    /** The start of the hop that holds {@code t}. */
    long hopStart(long t) {
      return Math.floorDiv(t, hopMicros) * hopMicros;
    }
  }

  static final Window W_1H = new Window("1h", "1h", "5m", HOUR, 5 * MINUTE);
  static final Window W_10M = new Window("10m", "10m", "1m", 10 * MINUTE, MINUTE);
  static final Window W_1D = new Window("1d", "1d", "1h", DAY, HOUR);
  static final List<Window> WINDOWS = List.of(W_1H, W_10M, W_1D);

  /** A feature as requested and exported: {@code view:feature}, column {@code view__feature}. */
  interface Feature {
    String view();

    String name();

    /** The type of the value, or of each element when {@link #list()}. */
    ScalarType type();

    /** Whether the value is a {@code list<type>}. */
    default boolean list() {
      return false;
    }

    default String reference() {
      return view() + ":" + name();
    }

    default String column() {
      return view() + "__" + name();
    }

    /**
     * What a lookup at {@code t} gives for an entity with these rows, or null where there is no
     * exact reference for them.
     */
    Cell expected(List<? extends Row> rows, long t);
  }

  /** A row-level feature of {@code profile}; {@code compute} computes it from a row (or null). */
  record RowFeature(String name, ScalarType type, String expr, Function<Row, Object> compute)
      implements Feature {
    @Override
    public String view() {
      return "profile";
    }

    @Override
    public Cell expected(List<? extends Row> rows, long t) {
      Row latest = latest(rows, t);
      if (latest == null) {
        return Cell.NOT_FOUND;
      }
      Timestamp at = timestamp(latest.eventMicros());
      if (t - latest.eventMicros() > TTL) {
        return new Cell(FeatureStatus.OUTSIDE_MAX_AGE, Value.getDefaultInstance(), at);
      }
      Object v = compute.apply(latest);
      return v == null
          ? new Cell(FeatureStatus.NULL_VALUE, NULL, at)
          : new Cell(FeatureStatus.PRESENT, value(v, type), at);
    }
  }

  /**
   * A windowed aggregation of {@code activity}: function, input, parameters (registry keys to their
   * YAML spelling, in order), window, result type (the element type of a list result) and {@code
   * result}, its value over the rows of the window, oldest first (an explicit null when there is
   * none). {@code result} is null for a function with no exact reference, and may give null for
   * rows it has no exact answer for.
   */
  record Aggregation(
      String function,
      String input,
      Map<String, String> parameters,
      Window window,
      ScalarType type,
      boolean list,
      Function<List<Row>, Value> result)
      implements Feature {
    Aggregation {
      parameters = Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
    }

    /** An aggregation without parameters and with a scalar result. */
    Aggregation(
        String function,
        String input,
        Window window,
        ScalarType type,
        Function<List<Row>, Value> result) {
      this(function, input, Map.of(), window, type, false, result);
    }

    @Override
    public String view() {
      return "activity";
    }

    @Override
    public String name() {
      StringBuilder n = new StringBuilder(function);
      if (input != null) {
        n.append('_').append(input);
      }
      n.append('_').append(window.suffix());
      parameters.forEach((key, value) -> n.append('_').append(key).append(value.replace('.', 'p')));
      return n.toString();
    }

    /** Whether the result is a double computed by exact arithmetic rounded once. */
    boolean roundedOnce() {
      return type == ScalarType.SCALAR_TYPE_DOUBLE
          && !list
          && List.of("sum", "avg", "variance", "stddev", "variance_sample", "stddev_sample")
              .contains(function);
    }

    @Override
    public Cell expected(List<? extends Row> rows, long t) {
      if (result == null) {
        return null;
      }
      Row latest = latest(rows, t);
      if (latest == null) {
        return Cell.NOT_FOUND;
      }
      long from = window.start(t);
      List<Row> in = new ArrayList<>();
      for (Row r : rows) {
        if (r.eventMicros() >= from && r.eventMicros() <= t) {
          in.add(r);
        }
      }
      in.sort(ORDER);
      Value v = result.apply(in);
      if (v == null) {
        return null;
      }
      return new Cell(
          v.getKindCase() == Value.KindCase.NULL_VALUE
              ? FeatureStatus.NULL_VALUE
              : FeatureStatus.PRESENT,
          v,
          timestamp(latest.eventMicros()));
    }
  }

  /** One answer: status, value (unset: the empty Value) and event timestamp. */
  record Cell(FeatureStatus status, Value value, Timestamp eventTime) {
    static final Cell NOT_FOUND =
        new Cell(
            FeatureStatus.NOT_FOUND, Value.getDefaultInstance(), Timestamp.getDefaultInstance());

    @Override
    public String toString() {
      return status
          + " "
          + SkewReference.toString(value)
          + (status == FeatureStatus.NOT_FOUND && eventTime.equals(Timestamp.getDefaultInstance())
              ? ""
              : " @" + SkewReference.toString(eventTime));
    }
  }

  static final Value NULL =
      Value.newBuilder().setNullValue(com.google.protobuf.NullValue.NULL_VALUE).build();

  static final List<RowFeature> ROW_FEATURES =
      List.of(
          new RowFeature("x", ScalarType.SCALAR_TYPE_DOUBLE, "x", r -> r.field("x")),
          new RowFeature("n", ScalarType.SCALAR_TYPE_INT64, "n", r -> r.field("n")),
          new RowFeature("s", ScalarType.SCALAR_TYPE_STRING, "s", r -> r.field("s")),
          new RowFeature("at", ScalarType.SCALAR_TYPE_TIMESTAMP, "at", r -> r.field("at")),
          new RowFeature("y", ScalarType.SCALAR_TYPE_DOUBLE, "y", r -> r.field("y")),
          new RowFeature(
              "x_plus_y",
              ScalarType.SCALAR_TYPE_DOUBLE,
              "x + y",
              r ->
                  r.field("x") == null || r.field("y") == null
                      ? null
                      : (Double) r.field("x") + (Double) r.field("y")));

  static final List<Aggregation> AGGREGATIONS = aggregations();

  /** Every aggregation function there is, over windows of different lengths and hops. */
  private static List<Aggregation> aggregations() {
    ScalarType int64 = ScalarType.SCALAR_TYPE_INT64;
    ScalarType dbl = ScalarType.SCALAR_TYPE_DOUBLE;
    ScalarType ts = ScalarType.SCALAR_TYPE_TIMESTAMP;
    ScalarType str = ScalarType.SCALAR_TYPE_STRING;
    List<Aggregation> a = new ArrayList<>();
    for (Window w : WINDOWS) {
      a.add(new Aggregation("count", null, w, int64, rows -> int64(rows.size())));
      a.add(new Aggregation("count", "x", w, int64, rows -> int64(inputs(rows, "x").size())));
      a.add(new Aggregation("sum", "n", w, int64, rows -> sumLong(inputs(rows, "n"))));
      a.add(new Aggregation("sum", "x", w, dbl, rows -> sumDouble(inputs(rows, "x"))));
      a.add(new Aggregation("avg", "x", w, dbl, rows -> avg(inputs(rows, "x"))));
      a.add(new Aggregation("min", "x", w, dbl, rows -> extreme(inputs(rows, "x"), -1, dbl)));
      a.add(new Aggregation("max", "x", w, dbl, rows -> extreme(inputs(rows, "x"), 1, dbl)));
      a.add(new Aggregation("min", "at", w, ts, rows -> extreme(inputs(rows, "at"), -1, ts)));
      a.add(new Aggregation("max", "at", w, ts, rows -> extreme(inputs(rows, "at"), 1, ts)));
      a.add(new Aggregation("last", "s", w, str, rows -> last(rows, "s", str)));
      a.add(new Aggregation("first", "s", w, str, rows -> first(rows, "s", str)));
      for (String f : List.of("variance", "stddev", "variance_sample", "stddev_sample")) {
        a.add(new Aggregation(f, "x", w, dbl, rows -> spread(inputs(rows, "x"), f)));
      }
      a.add(ends("last_k", "s", 3, w, str));
      a.add(ends("first_k", "s", 3, w, str));
      a.add(topK("s", 3, w, str));
      a.add(percentile("x", "0.5", null, w, dbl));
      a.add(distinct("s", null, w));
    }
    a.add(new Aggregation("avg", "n", W_1H, dbl, rows -> avg(inputs(rows, "n"))));
    a.add(new Aggregation("last", "x", W_10M, dbl, rows -> last(rows, "x", dbl)));
    a.add(new Aggregation("first", "x", W_1H, dbl, rows -> first(rows, "x", dbl)));
    a.add(new Aggregation("first", "n", W_10M, int64, rows -> first(rows, "n", int64)));
    a.add(new Aggregation("first", "at", W_1D, ts, rows -> first(rows, "at", ts)));
    for (String f : List.of("variance", "stddev", "variance_sample", "stddev_sample")) {
      a.add(new Aggregation(f, "n", W_1H, dbl, rows -> spread(inputs(rows, "n"), f)));
    }
    a.add(ends("last_k", "x", 1, W_10M, dbl));
    a.add(ends("last_k", "at", 2, W_1D, ts));
    a.add(ends("last_k", "n", 1000, W_1H, int64));
    a.add(ends("first_k", "x", 2, W_1H, dbl));
    a.add(ends("first_k", "at", 1, W_10M, ts));
    a.add(topK("x", 2, W_1H, dbl));
    a.add(topK("n", 1, W_10M, int64));
    a.add(topK("at", 5, W_1D, ts));
    a.add(topK("s", 1000, W_1D, str));
    a.add(percentile("x", "0.9", null, W_1H, dbl));
    a.add(percentile("x", "0.1", null, W_10M, dbl));
    a.add(percentile("x", "0", null, W_1D, dbl));
    a.add(percentile("x", "1", null, W_1H, dbl));
    a.add(percentile("n", "0.25", null, W_1D, int64));
    a.add(percentile("n", "0.75", 8, W_10M, int64));
    a.add(percentile("x", "0.9", 8, W_1D, dbl)); // a sample past 8 rows
    a.add(distinct("x", "4", W_1H));
    a.add(distinct("n", "16", W_1D));
    a.add(distinct("at", "11", W_10M));
    return List.copyOf(a);
  }

  /**
   * {@code approx_count_distinct}, with {@code lg_k} or the default: an estimate, with no exact
   * reference.
   */
  private static Aggregation distinct(String input, String lgK, Window w) {
    return new Aggregation(
        "approx_count_distinct",
        input,
        lgK == null ? Map.of() : Map.of("lg_k", lgK),
        w,
        ScalarType.SCALAR_TYPE_INT64,
        false,
        null);
  }

  /** {@code last_k} or {@code first_k} of {@code input}. */
  private static Aggregation ends(String function, String input, int k, Window w, ScalarType type) {
    boolean newest = function.equals("last_k");
    return new Aggregation(
        function,
        input,
        Map.of("k", Integer.toString(k)),
        w,
        type,
        true,
        rows -> ends(inputs(rows, input), k, newest, type));
  }

  private static Aggregation topK(String input, int k, Window w, ScalarType type) {
    return new Aggregation(
        "top_k",
        input,
        Map.of("k", Integer.toString(k)),
        w,
        type,
        true,
        rows -> topK(inputs(rows, input), k, type));
  }

  /**
   * {@code approx_percentile} at {@code rank} (its YAML spelling), with {@code k} or the default.
   */
  private static Aggregation percentile(
      String input, String rank, Integer k, Window w, ScalarType type) {
    Map<String, String> parameters = new LinkedHashMap<>();
    parameters.put("percentile", rank);
    if (k != null) {
      parameters.put("k", k.toString());
    }
    int capacity = k == null ? 1024 : k;
    return new Aggregation(
        "approx_percentile",
        input,
        parameters,
        w,
        type,
        false,
        rows -> percentile(inputs(rows, input), new BigDecimal(rank), capacity, type));
  }

  static List<Feature> features() {
    List<Feature> all = new ArrayList<>(ROW_FEATURES);
    all.addAll(AGGREGATIONS);
    return all;
  }

  /** The registry file: one entity, one source, the two views. */
  static String registryYaml(String topic) {
    StringBuilder y = new StringBuilder();
    y.append("entities:\n  user: {join_keys: {user_id: string}}\n");
    y.append("sources:\n  events:\n");
    y.append("    kafka: {topic: ").append(topic).append(", format: json}\n");
    y.append("    event_timestamp: ts\n    created_timestamp: created\n");
    y.append("    schema: {user_id: string, ts: timestamp, created: timestamp, x: double,");
    y.append(" n: int64, s: string, at: timestamp, y: double}\n");
    y.append("feature_views:\n");
    y.append("  profile:\n    entities: [user]\n    source: events\n    ttl: 10m\n");
    y.append("    features:\n");
    for (RowFeature f : ROW_FEATURES) {
      y.append("      ")
          .append(f.name())
          .append(": {type: ")
          .append(typeName(f.type()))
          .append(", expr: \"")
          .append(f.expr())
          .append("\"}\n");
    }
    y.append("  activity:\n    entities: [user]\n    source: events\n    aggregations:\n");
    for (Aggregation a : AGGREGATIONS) {
      y.append("      ").append(a.name()).append(": {function: ").append(a.function());
      if (a.input() != null) {
        y.append(", input: ").append(a.input());
      }
      y.append(", window: ").append(a.window().length()).append(", hop: ").append(a.window().hop());
      a.parameters().forEach((key, value) -> y.append(", ").append(key).append(": ").append(value));
      y.append("}\n");
    }
    return y.toString();
  }

  private static String typeName(ScalarType t) {
    return t.name().substring("SCALAR_TYPE_".length()).toLowerCase(Locale.ROOT);
  }

  /** The row with the greatest order key among those with {@code event_ts <= t}, or null. */
  static Row latest(List<? extends Row> rows, long t) {
    Row best = null;
    for (Row r : rows) {
      if (r.eventMicros() <= t && (best == null || ORDER.compare(r, best) > 0)) {
        best = r;
      }
    }
    return best;
  }

  private static List<Object> inputs(List<Row> rows, String field) {
    List<Object> out = new ArrayList<>();
    for (Row r : rows) {
      if (r.field(field) != null) {
        out.add(r.field(field));
      }
    }
    return out;
  }

  private static Value int64(long v) {
    return Value.newBuilder().setInt64Value(v).build();
  }

  private static Value sumLong(List<Object> in) {
    if (in.isEmpty()) {
      return NULL;
    }
    long sum = 0;
    for (Object o : in) {
      sum += (Long) o; // int64 arithmetic: wraps, in any order alike
    }
    return int64(sum);
  }

  /** The exact sum, every double being a finite binary fraction. */
  static BigDecimal exactSum(List<Object> in) {
    BigDecimal sum = BigDecimal.ZERO;
    for (Object o : in) {
      sum = sum.add(exact(o));
    }
    return sum;
  }

  /** The exact value of a Long or a finite Double. */
  private static BigDecimal exact(Object o) {
    return o instanceof Long l ? new BigDecimal(l) : new BigDecimal((Double) o);
  }

  /**
   * The double nearest to {@code exact}. {@code Double.parseDouble} rounds correctly, where {@code
   * BigDecimal.doubleValue()} did not always before JDK 19.
   */
  static double nearest(BigDecimal exact) {
    return Double.parseDouble(exact.toString());
  }

  private static Value sumDouble(List<Object> in) {
    return in.isEmpty() ? NULL : Value.newBuilder().setDoubleValue(nearest(exactSum(in))).build();
  }

  /**
   * The mean, rounded once: the exact sum divided by the count to 3000 significant digits, far more
   * than any double sum of these inputs has, so the one rounding to a double is exact.
   */
  private static Value avg(List<Object> in) {
    if (in.isEmpty()) {
      return NULL;
    }
    BigDecimal mean =
        exactSum(in)
            .divide(BigDecimal.valueOf(in.size()), new MathContext(3000, RoundingMode.HALF_EVEN));
    return Value.newBuilder().setDoubleValue(nearest(mean)).build();
  }

  private static Value extreme(List<Object> in, int sign, ScalarType type) {
    Object best = null;
    for (Object o : in) {
      if (best == null || sign * compare(o, best) > 0) {
        best = o;
      }
    }
    return best == null ? NULL : value(best, type);
  }

  @SuppressWarnings("unchecked")
  private static int compare(Object a, Object b) {
    return ((Comparable<Object>) a).compareTo(b);
  }

  /** The input of the newest row of the window whose input is not null. */
  private static Value last(List<Row> rows, String field, ScalarType type) {
    for (int i = rows.size() - 1; i >= 0; i--) {
      Object v = rows.get(i).field(field);
      if (v != null) {
        return value(v, type);
      }
    }
    return NULL;
  }

  /** The input of the oldest row of the window whose input is not null. */
  private static Value first(List<Row> rows, String field, ScalarType type) {
    for (Row r : rows) {
      Object v = r.field(field);
      if (v != null) {
        return value(v, type);
      }
    }
    return NULL;
  }

  /**
   * The {@code k} newest inputs, newest first, or the {@code k} oldest, oldest first, from inputs
   * oldest first.
   */
  private static Value ends(List<Object> in, int k, boolean newest, ScalarType type) {
    if (in.isEmpty()) {
      return NULL;
    }
    List<Object> out = new ArrayList<>();
    for (int i = 0; i < Math.min(k, in.size()); i++) {
      out.add(newest ? in.get(in.size() - 1 - i) : in.get(i));
    }
    return list(out, type);
  }

  /**
   * Population or sample variance or standard deviation, from the exact value {@code (n·Σx² −
   * (Σx)²) / (n·d)} with {@code d} = n or n − 1: the variance rounded once, the standard deviation
   * its exact square root rounded once. Null over no inputs, and for the sample forms over one.
   */
  private static Value spread(List<Object> in, String function) {
    boolean sample = function.endsWith("_sample");
    long n = in.size();
    long d = sample ? n - 1 : n;
    if (d <= 0) {
      return NULL;
    }
    BigDecimal s1 = exactSum(in);
    BigDecimal s2 = BigDecimal.ZERO;
    for (Object o : in) {
      BigDecimal x = exact(o);
      s2 = s2.add(x.multiply(x));
    }
    BigDecimal numerator = BigDecimal.valueOf(n).multiply(s2).subtract(s1.multiply(s1));
    BigDecimal denominator = BigDecimal.valueOf(n).multiply(BigDecimal.valueOf(d));
    boolean root = function.startsWith("stddev");
    // Digits enough that an interval certainly holding the exact value rounds to one double, or
    // the exact value itself when it has so few digits (a midpoint between doubles is one).
    for (int digits = 40; digits <= 100_000; digits *= 2) {
      MathContext mc = new MathContext(digits, RoundingMode.HALF_EVEN);
      BigDecimal v = numerator.divide(denominator, mc); // within half an ulp of digits
      boolean exact = v.multiply(denominator).compareTo(numerator) == 0;
      if (root) {
        BigDecimal square = v;
        v = v.sqrt(mc); // within half an ulp of the root of a value within half an ulp
        exact = exact && v.multiply(v).compareTo(square) == 0;
      }
      if (exact) {
        return Value.newBuilder().setDoubleValue(nearest(v)).build();
      }
      BigDecimal ulp = v.ulp().multiply(BigDecimal.valueOf(2));
      double low = nearest(v.subtract(ulp));
      double high = nearest(v.add(ulp));
      if (low == high) { // then v rounds alike too, and v > 0 to +0.0 should it underflow
        return Value.newBuilder().setDoubleValue(nearest(v)).build();
      }
    }
    throw new IllegalStateException("no correctly rounded " + function + " of " + in);
  }

  /**
   * The smallest input whose rank {@code i / n} (the i-th smallest of n, from 1) is at least {@code
   * rank}, the YAML's decimal exactly: the minimum at 0, the maximum at 1. Null (no reference) past
   * {@code k} inputs, where the result is that of a sample.
   */
  private static Value percentile(List<Object> in, BigDecimal rank, int k, ScalarType type) {
    if (in.isEmpty()) {
      return NULL;
    }
    if (in.size() > k) {
      return null;
    }
    List<Object> sorted = new ArrayList<>(in);
    sorted.sort(SkewReference::compare);
    int i =
        rank.multiply(BigDecimal.valueOf(sorted.size()))
            .setScale(0, RoundingMode.CEILING)
            .intValueExact();
    return value(sorted.get(Math.max(1, i) - 1), type);
  }

  /** The {@code k} most frequent inputs, most frequent first, equal counts by value ascending. */
  private static Value topK(List<Object> in, int k, ScalarType type) {
    if (in.isEmpty()) {
      return NULL;
    }
    Map<Object, Long> counts = new HashMap<>(); // Double.equals: -0.0 and 0.0 differ
    in.forEach(o -> counts.merge(o, 1L, Long::sum));
    List<Map.Entry<Object, Long>> ranked = new ArrayList<>(counts.entrySet());
    ranked.sort(
        (p, q) ->
            p.getValue().equals(q.getValue())
                ? compare(p.getKey(), q.getKey())
                : Long.compare(q.getValue(), p.getValue()));
    return list(ranked.stream().limit(k).map(Map.Entry::getKey).toList(), type);
  }

  /** A list value of {@code type} holding {@code items}, in order. */
  static Value list(List<Object> items, ScalarType type) {
    Value.Builder b = Value.newBuilder();
    switch (type) {
      case SCALAR_TYPE_DOUBLE ->
          b.setDoubleListValue(
              DoubleList.newBuilder().addAllValues(items.stream().map(o -> (Double) o).toList()));
      case SCALAR_TYPE_INT64 ->
          b.setInt64ListValue(
              Int64List.newBuilder().addAllValues(items.stream().map(o -> (Long) o).toList()));
      case SCALAR_TYPE_STRING ->
          b.setStringListValue(
              StringList.newBuilder().addAllValues(items.stream().map(o -> (String) o).toList()));
      case SCALAR_TYPE_TIMESTAMP ->
          b.setTimestampListValue(
              TimestampList.newBuilder()
                  .addAllValues(items.stream().map(o -> timestamp((Long) o)).toList()));
      default -> throw new IllegalArgumentException("no reference for lists of " + type);
    }
    return b.build();
  }

  /**
   * The wire form of an exported cell of {@code f}: a list is a {@code java.util.List} of its
   * elements (text as Arrow's {@code Text}).
   */
  static Value exported(Object cell, Feature f) {
    if (!f.list()) {
      return value(cell, f.type());
    }
    List<Object> items = new ArrayList<>();
    for (Object o : (List<?>) cell) {
      items.add(o instanceof org.apache.arrow.vector.util.Text text ? text.toString() : o);
    }
    return list(items, f.type());
  }

  /** The wire form of a value of {@code type}: timestamps are given in epoch microseconds. */
  static Value value(Object v, ScalarType type) {
    Value.Builder b = Value.newBuilder();
    switch (type) {
      case SCALAR_TYPE_DOUBLE -> b.setDoubleValue((Double) v);
      case SCALAR_TYPE_INT64 -> b.setInt64Value((Long) v);
      case SCALAR_TYPE_STRING -> b.setStringValue((String) v);
      case SCALAR_TYPE_TIMESTAMP -> b.setTimestampValue(timestamp((Long) v));
      default -> throw new IllegalArgumentException("no reference for type " + type);
    }
    return b.build();
  }

  static Timestamp timestamp(long micros) {
    return Timestamp.newBuilder()
        .setSeconds(Math.floorDiv(micros, SECOND))
        .setNanos((int) (Math.floorMod(micros, SECOND) * 1000))
        .build();
  }

  static String toString(Timestamp t) {
    return java.time.Instant.ofEpochSecond(t.getSeconds(), t.getNanos()).toString();
  }

  /** A value for messages, with the raw bits of a double. */
  static String toString(Value v) {
    return switch (v.getKindCase()) {
      case KIND_NOT_SET -> "(unset)";
      case NULL_VALUE -> "null";
      case DOUBLE_VALUE ->
          v.getDoubleValue()
              + " (bits 0x"
              + Long.toHexString(Double.doubleToRawLongBits(v.getDoubleValue()))
              + ")";
      case INT64_VALUE -> Long.toString(v.getInt64Value());
      case STRING_VALUE -> '"' + v.getStringValue() + '"';
      case TIMESTAMP_VALUE -> toString(v.getTimestampValue());
      case DOUBLE_LIST_VALUE ->
          v.getDoubleListValue().getValuesList().stream()
              .map(d -> toString(Value.newBuilder().setDoubleValue(d).build()))
              .collect(Collectors.joining(", ", "[", "]"));
      case INT64_LIST_VALUE -> v.getInt64ListValue().getValuesList().toString();
      case STRING_LIST_VALUE ->
          v.getStringListValue().getValuesList().stream()
              .map(x -> '"' + x + '"')
              .collect(Collectors.joining(", ", "[", "]"));
      case TIMESTAMP_LIST_VALUE ->
          v.getTimestampListValue().getValuesList().stream()
              .map(SkewReference::toString)
              .collect(Collectors.joining(", ", "[", "]"));
      default -> v.toString().trim();
    };
  }

  /** Whether two values are the same bits on the wire. */
  static boolean sameBits(Value a, Value b) {
    return java.util.Arrays.equals(a.toByteArray(), b.toByteArray());
  }
}
