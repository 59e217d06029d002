package dev.quiver.registry.aggregate;

import dev.quiver.proto.v1.Aggregation;
import dev.quiver.proto.v1.AggregationFunction;
import dev.quiver.proto.v1.Value;
import dev.quiver.registry.Durations;
import dev.quiver.registry.rows.OrderKey;
import java.util.Objects;

/**
 * One aggregation, ready to run: its function's {@link AggregateKernel} (looked up in {@link
 * AggregateFunctions}) and its sawtooth window. The online store (tiles) and the offline engine
 * (folding stored rows) both call it: {@link #add} folds a row in, {@link #merge} combines states,
 * {@link #result} gives the value. Windows are sawtooth: at time t, a window of length W with hop h
 * covers rows with {@code windowStart(t) <= event_ts <= t}, where {@code windowStart(t) = floor((t
 * - W) / h) * h}; online, rows are kept in tiles of one hop each.
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
  private final long windowMillis;
  private final long hopMillis;

  /**
   * @throws IllegalArgumentException if the spec has no window or hop, names a function that is not
   *     registered, or has an input type or parameters its function does not accept
   */
  @SuppressWarnings("unchecked")
  public Aggregator(Aggregation spec) {
    this.spec = Objects.requireNonNull(spec, "spec");
    this.function = spec.getFunction();
    this.windowMillis = Durations.fromProto(spec.getWindow()).toMillis();
    this.hopMillis = Durations.fromProto(spec.getHop()).toMillis();
    if (windowMillis <= 0 || hopMillis <= 0) {
      throw new IllegalArgumentException(
          "aggregation " + spec.getName() + " needs a window and a hop");
    }
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

  public long hopMillis() {
    return hopMillis;
  }

  /** The start of the tile that holds rows at {@code eventMillis}. */
  public long tileStart(long eventMillis) {
    return Math.floorDiv(eventMillis, hopMillis) * hopMillis;
  }

  /** The earliest event time the window at {@code t} covers: {@code floor((t - W) / h) * h}. */
  public long windowStart(long tMillis) {
    return Math.floorDiv(tMillis - windowMillis, hopMillis) * hopMillis;
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
