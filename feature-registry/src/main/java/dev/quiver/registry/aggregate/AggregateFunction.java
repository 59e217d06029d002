package dev.quiver.registry.aggregate;

import dev.quiver.proto.v1.Aggregation;
import dev.quiver.proto.v1.AggregationFunction;
import dev.quiver.proto.v1.ValueType;
import java.util.List;
import java.util.Optional;

/**
 * One aggregate function: its type rules, its parameters, and its {@link AggregateKernel} for a
 * given aggregation. Every function is registered in {@link AggregateFunctions}; the registry
 * loader, the online store and the offline engine all reach it from there, so a function's rules
 * live in its one class. Implementations are immutable and thread-safe.
 */
public interface AggregateFunction {
  AggregationFunction id();

  /** Whether the function needs an input expression ({@code count} does not: it counts rows). */
  default boolean needsInput() {
    return true;
  }

  /** What input types the function accepts, for error messages: "a number (int32, ...)". */
  String accepts();

  /**
   * The result type over inputs of {@code input} (null when no input is given), or empty when the
   * function does not accept that input.
   */
  Optional<ValueType> resultType(ValueType input);

  /** The parameters the function takes; no other parameter may be given. */
  default List<ParameterRule> parameters() {
    return List.of();
  }

  /**
   * The kernel for {@code spec}, whose function is this one.
   *
   * @throws IllegalArgumentException if the spec's input type or parameters do not fit
   */
  AggregateKernel<?> bind(Aggregation spec);
}
