package dev.quiver.registry.logic;

import dev.quiver.proto.v1.AggregationFunction;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.Types;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** The aggregation functions: their registry names, input rules, result types and default hops. */
public final class Aggregations {
  private Aggregations() {}

  /** Registry names of every function, in documentation order. */
  public static List<String> names() {
    return Arrays.stream(AggregationFunction.values())
        .filter(f -> f != AggregationFunction.AGGREGATION_FUNCTION_UNSPECIFIED)
        .filter(f -> f != AggregationFunction.UNRECOGNIZED)
        .map(Aggregations::name)
        .toList();
  }

  public static String name(AggregationFunction f) {
    return f.name().substring("AGGREGATION_FUNCTION_".length()).toLowerCase(Locale.ROOT);
  }

  public static Optional<AggregationFunction> parse(String name) {
    return Arrays.stream(AggregationFunction.values())
        .filter(f -> f != AggregationFunction.AGGREGATION_FUNCTION_UNSPECIFIED)
        .filter(f -> f != AggregationFunction.UNRECOGNIZED)
        .filter(f -> name(f).equals(name))
        .findFirst();
  }

  /** Whether the function needs an input expression ({@code count} does not: it counts rows). */
  public static boolean needsInput(AggregationFunction f) {
    return f != AggregationFunction.AGGREGATION_FUNCTION_COUNT;
  }

  /** What input types a function accepts, for error messages. */
  public static String accepts(AggregationFunction f) {
    return switch (f) {
      case AGGREGATION_FUNCTION_SUM, AGGREGATION_FUNCTION_AVG ->
          "a number (int32, int64, float, double)";
      case AGGREGATION_FUNCTION_MIN, AGGREGATION_FUNCTION_MAX -> "a number or a timestamp";
      default -> "any scalar type";
    };
  }

  /**
   * The result type of {@code f} over inputs of {@code input} (null for count without input), or
   * empty when the input type does not fit the function.
   */
  public static Optional<ValueType> resultType(AggregationFunction f, ValueType input) {
    boolean scalar = input != null && input.hasScalar();
    boolean numeric = input != null && Types.isNumeric(input);
    return switch (f) {
      case AGGREGATION_FUNCTION_COUNT -> Optional.of(Types.of(ScalarType.SCALAR_TYPE_INT64));
      case AGGREGATION_FUNCTION_SUM ->
          numeric
              ? Optional.of(
                  Types.of(
                      Types.isIntegral(input)
                          ? ScalarType.SCALAR_TYPE_INT64
                          : ScalarType.SCALAR_TYPE_DOUBLE))
              : Optional.empty();
      case AGGREGATION_FUNCTION_AVG ->
          numeric ? Optional.of(Types.of(ScalarType.SCALAR_TYPE_DOUBLE)) : Optional.empty();
      case AGGREGATION_FUNCTION_MIN, AGGREGATION_FUNCTION_MAX ->
          numeric || (scalar && input.getScalar() == ScalarType.SCALAR_TYPE_TIMESTAMP)
              ? Optional.of(input)
              : Optional.empty();
      case AGGREGATION_FUNCTION_LAST -> scalar ? Optional.of(input) : Optional.empty();
      default -> Optional.empty();
    };
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
