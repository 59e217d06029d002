package dev.quiver.registry.aggregate;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import dev.quiver.proto.v1.Value;
import dev.quiver.registry.semantics.OrderKey;
import java.io.IOException;

/**
 * One aggregate function bound to one aggregation (its input type and parameters): the state it
 * keeps and the four steps on it. The row count is kept beside the state by {@link AggregateState},
 * once for every function, and handed to {@link #result}.
 *
 * <p>The contract every kernel keeps, and {@code AggregateDeterminismTest} checks: the result
 * depends only on the multiset of rows folded in (value and order key), never on the order of
 * {@link #add} calls, on how rows were grouped into states before {@link #merge}, on the order of
 * merges, or on a pass through {@link #write}/{@link #read} between steps.
 *
 * <p>Kernels are immutable and thread-safe; their states are mutable and not thread-safe.
 *
 * @param <S> the state
 */
public interface AggregateKernel<S> {
  /** The state of no rows. */
  S empty();

  /**
   * Folds one row in and returns the state (the same object, or a new one for immutable states).
   *
   * @param input the input in its Java form; never null, except for {@code count} without input,
   *     which counts rows and is handed null for every row
   */
  S add(S state, Object input, OrderKey order);

  /** Folds {@code from} into {@code into} and returns the result; {@code from} is left as it is. */
  S merge(S into, S from);

  /**
   * The aggregate's value: an explicit null when it has none.
   *
   * @param count the rows (or non-null inputs) folded in
   */
  Value result(S state, long count);

  void write(S state, CodedOutputStream out) throws IOException;

  S read(CodedInputStream in) throws IOException;
}
