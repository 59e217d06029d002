package dev.quiver.registry.aggregate;

import dev.quiver.proto.v1.AggregationFunction;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Every aggregate function, registered here and nowhere else. A function is one class that knows
 * its type rules, parameters, state and arithmetic; the registry loader, the online store and the
 * offline engine reach it by {@link #of}. {@code AggregateFunctionsTest} fails for an {@link
 * AggregationFunction} value that has no entry here, so a function cannot be half added.
 */
public final class AggregateFunctions {
  private static final Map<AggregationFunction, AggregateFunction> BY_ID =
      register(
          new CountFunction(),
          new SumFunction(),
          new AvgFunction(),
          ExtremeFunction.min(),
          ExtremeFunction.max(),
          EndFunction.last(),
          EndFunction.first(),
          SpreadFunction.variance(),
          SpreadFunction.stddev(),
          SpreadFunction.varianceSample(),
          SpreadFunction.stddevSample(),
          EndValuesFunction.lastK(),
          EndValuesFunction.firstK(),
          new DistinctCountFunction(),
          new PercentileFunction(),
          new TopKFunction());

  private AggregateFunctions() {}

  private static Map<AggregationFunction, AggregateFunction> register(AggregateFunction... fs) {
    Map<AggregationFunction, AggregateFunction> m = new EnumMap<>(AggregationFunction.class);
    for (AggregateFunction f : fs) {
      if (m.put(f.id(), f) != null) {
        throw new IllegalStateException("aggregate function " + f.id() + " is registered twice");
      }
    }
    return Collections.unmodifiableMap(m);
  }

  /**
   * The function registered for {@code id}.
   *
   * @throws IllegalArgumentException if none is (unspecified, unknown, or never registered)
   */
  public static AggregateFunction of(AggregationFunction id) {
    AggregateFunction f = id == null ? null : BY_ID.get(id);
    if (f == null) {
      throw new IllegalArgumentException(
          "no aggregate function is registered for " + id + "; registered: " + BY_ID.keySet());
    }
    return f;
  }

  /** Whether a function is registered for {@code id}. */
  public static boolean isRegistered(AggregationFunction id) {
    return id != null && BY_ID.containsKey(id);
  }

  /** Every registered function, in the order of the enum's numbers. */
  public static List<AggregateFunction> all() {
    return new ArrayList<>(BY_ID.values());
  }
}
