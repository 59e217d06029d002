package dev.quiver.server;

import com.google.protobuf.Timestamp;
import dev.quiver.proto.v1.FeatureStatus;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.Value;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * What the Semantics of the design say a lookup at {@code t} and an export row at {@code t} must
 * give, worked out from the events as they were sent: every time in microseconds, the latest row by
 * {@code (event_ts, created_ts, partition, offset)} among rows with {@code event_ts <= t}, the TTL
 * as {@code t - event_ts <= ttl}, sawtooth windows {@code floor((t - W) / h) * h <= event_ts <= t},
 * nulls skipped, and sums and means in exact rational arithmetic rounded once.
 *
 * <p>It also declares the registry the contract runs against: a view {@code profile} of row-level
 * features with a TTL, and a view {@code activity} of windowed aggregations. A new aggregation
 * function is one more line in {@link #aggregations()}: its registry spelling and its reference
 * result over the rows of a window.
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

    ScalarType type();

    default String reference() {
      return view() + ":" + name();
    }

    default String column() {
      return view() + "__" + name();
    }

    /** What a lookup at {@code t} gives for an entity with these rows. */
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
   * A windowed aggregation of {@code activity}; {@code result} gives its value over the rows of the
   * window, oldest first (an explicit null when there is none).
   */
  record Aggregation(
      String function,
      String input,
      Window window,
      ScalarType type,
      Function<List<Row>, Value> result)
      implements Feature {
    @Override
    public String view() {
      return "activity";
    }

    @Override
    public String name() {
      return function + (input == null ? "" : "_" + input) + "_" + window.suffix();
    }

    /** Whether the result is a double computed by exact arithmetic rounded once. */
    boolean roundedOnce() {
      return type == ScalarType.SCALAR_TYPE_DOUBLE
          && (function.equals("sum") || function.equals("avg"));
    }

    @Override
    public Cell expected(List<? extends Row> rows, long t) {
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
    }
    a.add(new Aggregation("avg", "n", W_1H, dbl, rows -> avg(inputs(rows, "n"))));
    a.add(new Aggregation("last", "x", W_10M, dbl, rows -> last(rows, "x", dbl)));
    return List.copyOf(a);
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
      y.append(", window: ")
          .append(a.window().length())
          .append(", hop: ")
          .append(a.window().hop())
          .append("}\n");
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
      sum = sum.add(o instanceof Long l ? new BigDecimal(l) : new BigDecimal((Double) o)); // exact
    }
    return sum;
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
      default -> v.toString().trim();
    };
  }

  /** Whether two values are the same bits on the wire. */
  static boolean sameBits(Value a, Value b) {
    return java.util.Arrays.equals(a.toByteArray(), b.toByteArray());
  }
}
