package dev.quiver.registry.aggregate;

import dev.quiver.proto.v1.Aggregation;
import dev.quiver.proto.v1.AggregationFunction;
import dev.quiver.proto.v1.Value;
import dev.quiver.registry.semantics.OrderKey;
import dev.quiver.registry.semantics.Window;
import java.util.Objects;

/**
 * One aggregation, ready to run: its function's {@link AggregateKernel} (looked up in {@link
 * AggregateFunctions}) and its sawtooth window. The online store (tiles) and the offline engine
 * (folding stored rows) both call it: {@link #add} folds a row in, {@link #merge} combines states,
 * {@link #result} gives the value. Windows are sawtooth ({@link Window}); online, rows are kept in
 * tiles of one hop each.
 *
 * <p>Null inputs are skipped ({@code count} without input counts rows). What each function gives,
 * and why its result does not depend on the order or grouping of rows, is in docs/registry.md and
 * in each function's class. Immutable and thread-safe; the states it works on are not.
 */
public final class Aggregator {
  private final Aggregation spec;
  private final AggregationFunction function;
  private final AggregateKernel<Object> kernel;
  private final boolean countsRows;
  private final Window window;

  /**
   * @throws IllegalArgumentException if the spec has no window or hop, names a function that is not
   *     registered, or has an input type or parameters its function does not accept
   */
  @SuppressWarnings("unchecked")
  public Aggregator(Aggregation spec) {
    this.spec = Objects.requireNonNull(spec, "spec");
    this.function = spec.getFunction();
    this.window = Window.of(spec);
    AggregateFunction f = AggregateFunctions.of(function);
    this.countsRows = spec.getInput().isEmpty();
    if (countsRows && f.needsInput()) {
      throw new IllegalArgumentException(
          "aggregation "
              + spec.getName()
              + " has no input; function "
              + function
              + " aggregates "
              + f.accepts());
    }
    this.kernel = (AggregateKernel<Object>) f.bind(spec);
  }

  public Aggregation spec() {
    return spec;
  }

  /** The aggregation's sawtooth window: membership, tiles, hops. */
  public Window window() {
    return window;
  }

  public AggregateState empty() {
    return new AggregateState(function, kernel);
  }

  /**
   * Folds one row in.
   *
   * @param input the aggregation input's value in its Java form (Long, Double, Instant, String...),
   *     or null
   * @param order the row's order key
   */
  public void add(AggregateState s, Object input, OrderKey order) {
    if (input == null && !countsRows) {
      return;
    }
    Objects.requireNonNull(order, "order");
    s.update(kernel.add(s.value(function, kernel), input, order), 1);
  }

  /** Folds {@code from} into {@code into}; {@code from} is left as it is. */
  public void merge(AggregateState into, AggregateState from) {
    Object merged = kernel.merge(into.value(function, kernel), from.value(function, kernel));
    into.update(merged, from.count());
  }

  /** The aggregate's value: an explicit null when it has none. */
  public Value result(AggregateState s) {
    return kernel.result(s.value(function, kernel), s.count());
  }
}
