package dev.quiver.registry.logic;

import dev.quiver.proto.v1.AggregationFunction;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.aggregate.AggregateFunction;
import dev.quiver.registry.aggregate.AggregateFunctions;
import dev.quiver.registry.aggregate.ParameterRule;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The aggregation functions as the registry names them, and the default hop of a window. Type rules
 * and parameters are each function's own ({@link AggregateFunction}, registered in {@link
 * AggregateFunctions}); the methods here only look them up.
 */
public final class Aggregations {
  private Aggregations() {}

  /** Registry names of every function, in documentation order (the enum's order). */
  public static List<String> names() {
    return AggregateFunctions.all().stream().map(f -> name(f.id())).toList();
  }

  public static String name(AggregationFunction f) {
    return f.name().substring("AGGREGATION_FUNCTION_".length()).toLowerCase(Locale.ROOT);
  }

  /** The registered function of a registry name; empty for any other name. */
  public static Optional<AggregationFunction> parse(String name) {
    return AggregateFunctions.all().stream()
        .map(AggregateFunction::id)
        .filter(f -> name(f).equals(name))
        .findFirst();
  }

  /** Whether the function needs an input expression ({@code count} does not: it counts rows). */
  public static boolean needsInput(AggregationFunction f) {
    return AggregateFunctions.of(f).needsInput();
  }

  /** What input types a function accepts, for error messages. */
  public static String accepts(AggregationFunction f) {
    return AggregateFunctions.of(f).accepts();
  }

  /**
   * The result type of {@code f} over inputs of {@code input} (null for count without input), or
   * empty when the input type does not fit the function.
   */
  public static Optional<ValueType> resultType(AggregationFunction f, ValueType input) {
    return AggregateFunctions.of(f).resultType(input);
  }

  /** The parameters {@code f} takes. */
  public static List<ParameterRule> parameters(AggregationFunction f) {
    return AggregateFunctions.of(f).parameters();
  }

  /**
   * The default hop of a sawtooth window: 5 minutes for windows under 12 hours, 1 hour under 12
   * days, 1 day beyond; never longer than the window itself.
   */
  public static Duration defaultHop(Duration window) {
    Duration hop;
    if (window.compareTo(Duration.ofHours(12)) < 0) {
      hop = Duration.ofMinutes(5);
    } else if (window.compareTo(Duration.ofDays(12)) < 0) {
      hop = Duration.ofHours(1);
    } else {
      hop = Duration.ofDays(1);
    }
    return hop.compareTo(window) > 0 ? window : hop;
  }
}
