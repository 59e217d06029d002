package dev.quiver.registry.aggregate;

import dev.quiver.proto.v1.Aggregation;
import java.util.Objects;

/**
 * What one function accepts for one parameter: the range, and the default when the registry file
 * leaves it out (none: the parameter is required).
 *
 * @param parameter the parameter
 * @param defaultValue the value used when it is absent, or null when it must be given
 * @param min the smallest accepted value, inclusive
 * @param max the largest accepted value, inclusive
 */
public record ParameterRule(
    AggregateParameter parameter, Double defaultValue, double min, double max) {
  public ParameterRule {
    Objects.requireNonNull(parameter, "parameter");
  }

  public static ParameterRule required(AggregateParameter p, double min, double max) {
    return new ParameterRule(p, null, min, max);
  }

  public static ParameterRule optional(
      AggregateParameter p, double defaultValue, double min, double max) {
    return new ParameterRule(p, defaultValue, min, max);
  }

  public boolean isRequired() {
    return defaultValue == null;
  }

  public boolean accepts(double value) {
    return value >= min && value <= max && (!parameter.integral() || value == Math.rint(value));
  }

  /** What is accepted, for error messages: "an integer from 1 to 1000". */
  public String expected() {
    String kind = parameter.integral() ? "an integer" : "a number";
    return kind
        + " from "
        + parameter.format(min)
        + " to "
        + parameter.format(max)
        + (defaultValue == null ? "" : " (default " + parameter.format(defaultValue) + ")");
  }

  /**
   * The value of the parameter in {@code spec}, checked.
   *
   * @throws IllegalArgumentException if it is unset or out of range
   */
  public double valueIn(Aggregation spec) {
    if (!parameter.isSet(spec)) {
      throw new IllegalArgumentException(
          "aggregation "
              + spec.getName()
              + " does not set parameter "
              + parameter.key()
              + "; expected "
              + expected());
    }
    double v = parameter.get(spec);
    if (!accepts(v)) {
      throw new IllegalArgumentException(
          "parameter "
              + parameter.key()
              + " of aggregation "
              + spec.getName()
              + " is "
              + parameter.format(v)
              + "; expected "
              + expected());
    }
    return v;
  }

  public int intValueIn(Aggregation spec) {
    return (int) valueIn(spec);
  }
}
