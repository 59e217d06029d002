package dev.quiver.registry.aggregate;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import dev.quiver.proto.v1.Aggregation;
import dev.quiver.proto.v1.AggregationFunction;
import dev.quiver.proto.v1.Value;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.rows.Values;
import dev.quiver.registry.semantics.OrderKey;
import java.io.IOException;
import java.util.Optional;

/**
 * {@code last} and {@code first}: the value of the row with the greatest ({@code last}) or smallest
 * ({@code first}) order key, the input's type, null over no rows. Order keys identify rows, so the
 * choice is the same in any order; should two rows ever share a key, the greater value (in {@link
 * ValueOrder}) wins, again in any order.
 */
final class EndFunction implements AggregateFunction {
  private final AggregationFunction id;
  private final boolean newest;

  private EndFunction(AggregationFunction id, boolean newest) {
    this.id = id;
    this.newest = newest;
  }

  static EndFunction last() {
    return new EndFunction(AggregationFunction.AGGREGATION_FUNCTION_LAST, true);
  }

  static EndFunction first() {
    return new EndFunction(AggregationFunction.AGGREGATION_FUNCTION_FIRST, false);
  }

  @Override
  public AggregationFunction id() {
    return id;
  }

  @Override
  public String accepts() {
    return "any scalar type";
  }

  @Override
  public Optional<ValueType> resultType(ValueType input) {
    return Kernels.isScalar(input) ? Optional.of(input) : Optional.empty();
  }

  /** A row's order key and value. */
  record Entry(OrderKey order, Value value) {
    /** Whether this entry goes before {@code o} in the order of {@code newest} (newest first). */
    boolean before(Entry o, boolean newest) {
      int c = order.compareTo(o.order);
      if (c == 0) {
        c = ValueOrder.compare(value, o.value);
      }
      return newest ? c > 0 : c < 0;
    }

    void write(CodedOutputStream out) throws IOException {
      Kernels.writeOrder(out, order);
      Kernels.writeValue(out, value);
    }

    static Entry read(CodedInputStream in) throws IOException {
      return new Entry(Kernels.readOrder(in), Kernels.readValue(in));
    }
  }

  @Override
  public AggregateKernel<?> bind(Aggregation spec) {
    ValueType type = Kernels.inputType(this, spec);
    return new AggregateKernel<Entry>() {
      @Override
      public Entry empty() {
        return null;
      }

      @Override
      public Entry add(Entry state, Object input, OrderKey order) {
        return merge(state, new Entry(order, Values.toProto(input, type)));
      }

      @Override
      public Entry merge(Entry into, Entry from) {
        if (into == null) {
          return from;
        }
        return from != null && from.before(into, newest) ? from : into;
      }

      @Override
      public Value result(Entry state, long count) {
        return state == null ? Values.nullValue() : state.value();
      }

      @Override
      public void write(Entry state, CodedOutputStream out) throws IOException {
        out.writeBoolNoTag(state != null);
        if (state != null) {
          state.write(out);
        }
      }

      @Override
      public Entry read(CodedInputStream in) throws IOException {
        return in.readBool() ? Entry.read(in) : null;
      }
    };
  }
}
