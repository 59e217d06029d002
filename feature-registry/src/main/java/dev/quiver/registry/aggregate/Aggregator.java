package dev.quiver.registry.aggregate;

import dev.quiver.proto.JavaValues;
import dev.quiver.proto.v1.Aggregation;
import dev.quiver.proto.v1.AggregationFunction;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.Value;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.rows.Values;
import dev.quiver.registry.semantics.OrderKey;
import dev.quiver.registry.semantics.Window;
import java.util.Objects;

/**
 * The one implementation of an aggregation function, used online (tiles in the online store) and
 * offline (folding stored rows): {@link #add} folds a row in, {@link #merge} combines states,
 * {@link #result} gives the value. Windows are sawtooth ({@link Window}); online, rows are kept in
 * tiles of one hop each.
 *
 * <p>Results: {@code count} is an int64 and 0 over no rows; {@code sum} is int64 for integer inputs
 * (wrapping on overflow, as int64 arithmetic does, so still independent of order) and double
 * otherwise, the correctly rounded exact sum ({@link ExactSum}); {@code avg} is double, the exact
 * mean rounded once; {@code min}, {@code max} and {@code last} have the input's type; all but count
 * are null over no rows. Null inputs are skipped ({@code count} without input counts rows).
 * Immutable and thread-safe.
 */
public final class Aggregator {
  private final Aggregation spec;
  private final AggregationFunction function;
  private final Window window;
  private final boolean integral;

  public Aggregator(Aggregation spec) {
    this.spec = Objects.requireNonNull(spec, "spec");
    this.function = spec.getFunction();
    this.window = Window.of(spec);
    ValueType t = spec.getType();
    this.integral =
        t.hasScalar()
            && (t.getScalar() == ScalarType.SCALAR_TYPE_INT64
                || t.getScalar() == ScalarType.SCALAR_TYPE_INT32);
  }

  public Aggregation spec() {
    return spec;
  }

  /** The aggregation's sawtooth window: membership, tiles, hops. */
  public Window window() {
    return window;
  }

  public AggregateState empty() {
    return new AggregateState();
  }

  /**
   * Folds one row in.
   *
   * @param input the aggregation input's value in its Java form (Long, Double, Instant, String...),
   *     or null
   * @param order the row's order key
   */
  public void add(AggregateState s, Object input, OrderKey order) {
    if (function == AggregationFunction.AGGREGATION_FUNCTION_COUNT && spec.getInput().isEmpty()) {
      s.count++;
      return;
    }
    if (input == null) {
      return;
    }
    s.count++;
    switch (function) {
      case AGGREGATION_FUNCTION_SUM -> {
        if (integral) {
          s.longSum += ((Number) input).longValue();
        } else {
          s.sum().add(((Number) input).doubleValue());
        }
      }
      case AGGREGATION_FUNCTION_AVG -> {
        if (integral) {
          s.sum().add(((Number) input).longValue());
        } else {
          s.sum().add(((Number) input).doubleValue());
        }
      }
      case AGGREGATION_FUNCTION_MIN, AGGREGATION_FUNCTION_MAX -> {
        Value v = Values.toProto(input, spec.getType());
        if (s.extreme == null || better(v, s.extreme)) {
          s.extreme = v;
        }
      }
      case AGGREGATION_FUNCTION_LAST -> {
        if (s.lastOrder == null || order.isNewerThan(s.lastOrder)) {
          s.lastOrder = order;
          s.lastValue = Values.toProto(input, spec.getType());
        }
      }
      default -> {}
    }
  }

  /** Folds {@code from} into {@code into}. */
  public void merge(AggregateState into, AggregateState from) {
    into.count += from.count;
    if (from.sum != null) {
      into.sum().merge(from.sum);
    }
    into.longSum += from.longSum;
    if (from.extreme != null && (into.extreme == null || better(from.extreme, into.extreme))) {
      into.extreme = from.extreme;
    }
    if (from.lastOrder != null
        && (into.lastOrder == null || from.lastOrder.isNewerThan(into.lastOrder))) {
      into.lastOrder = from.lastOrder;
      into.lastValue = from.lastValue;
    }
  }

  /** The aggregate's value: an explicit null when it has none. */
  public Value result(AggregateState s) {
    switch (function) {
      case AGGREGATION_FUNCTION_COUNT:
        return Value.newBuilder().setInt64Value(s.count).build();
      case AGGREGATION_FUNCTION_SUM:
        if (s.count == 0) {
          return Values.nullValue();
        }
        return integral
            ? Value.newBuilder().setInt64Value(s.longSum).build()
            : Value.newBuilder().setDoubleValue(s.sum().toDouble()).build();
      case AGGREGATION_FUNCTION_AVG:
        if (s.count == 0) {
          return Values.nullValue();
        }
        return Value.newBuilder().setDoubleValue(s.sum().divide(s.count)).build();
      case AGGREGATION_FUNCTION_MIN:
      case AGGREGATION_FUNCTION_MAX:
        return s.extreme == null ? Values.nullValue() : s.extreme;
      case AGGREGATION_FUNCTION_LAST:
        return s.lastValue == null ? Values.nullValue() : s.lastValue;
      default:
        return Values.nullValue();
    }
  }

  private boolean better(Value candidate, Value current) {
    int c = compare(candidate, current);
    return function == AggregationFunction.AGGREGATION_FUNCTION_MIN ? c < 0 : c > 0;
  }

  private static int compare(Value a, Value b) {
    return switch (a.getKindCase()) {
      case INT32_VALUE -> Integer.compare(a.getInt32Value(), b.getInt32Value());
      case INT64_VALUE -> Long.compare(a.getInt64Value(), b.getInt64Value());
      case FLOAT_VALUE -> Float.compare(a.getFloatValue(), b.getFloatValue());
      case DOUBLE_VALUE -> Double.compare(a.getDoubleValue(), b.getDoubleValue());
      case TIMESTAMP_VALUE ->
          JavaValues.instant(a.getTimestampValue())
              .compareTo(JavaValues.instant(b.getTimestampValue()));
      case STRING_VALUE -> a.getStringValue().compareTo(b.getStringValue());
      default -> 0;
    };
  }
}
