package dev.quiver.registry.aggregate;

import dev.quiver.proto.v1.Aggregation;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The parameters aggregate functions take: their registry key (also the {@link Aggregation} field
 * name) and how they are held in the proto. Which function takes which, with what range and
 * default, is the function's own {@link ParameterRule}.
 */
public enum AggregateParameter {
  /** How many values ({@code last_k}, {@code first_k}, {@code top_k}) or the sample size. */
  K("k", true),
  /** log2 of the number of slots of a distinct-count sketch. */
  LG_K("lg_k", true),
  /** The rank asked for, in [0, 1]. */
  PERCENTILE("percentile", false);

  private final String key;
  private final boolean integral;

  AggregateParameter(String key, boolean integral) {
    this.key = key;
    this.integral = integral;
  }

  /** The key in registry files and the field name in {@link Aggregation}. */
  public String key() {
    return key;
  }

  /** Whether the parameter is an integer (else any number). */
  public boolean integral() {
    return integral;
  }

  /** Every parameter's key, in declaration order. */
  public static List<String> keys() {
    return Arrays.stream(values()).map(AggregateParameter::key).toList();
  }

  public static Optional<AggregateParameter> ofKey(String key) {
    return Arrays.stream(values()).filter(p -> p.key.equals(key)).findFirst();
  }

  /** Whether {@code a} sets this parameter. */
  public boolean isSet(Aggregation a) {
    return switch (this) {
      case K -> a.hasK();
      case LG_K -> a.hasLgK();
      case PERCENTILE -> a.hasPercentile();
    };
  }

  /** The value {@code a} sets; meaningful only when {@link #isSet}. */
  public double get(Aggregation a) {
    return switch (this) {
      case K -> a.getK();
      case LG_K -> a.getLgK();
      case PERCENTILE -> a.getPercentile();
    };
  }

  public void set(Aggregation.Builder a, double value) {
    switch (this) {
      case K -> a.setK((int) value);
      case LG_K -> a.setLgK((int) value);
      case PERCENTILE -> a.setPercentile(value);
    }
  }

  /** The value as registry files spell it: {@code 5}, {@code 0.95}. */
  public String format(double value) {
    return integral
        ? Long.toString((long) value)
        : java.math.BigDecimal.valueOf(value).stripTrailingZeros().toPlainString();
  }
}
