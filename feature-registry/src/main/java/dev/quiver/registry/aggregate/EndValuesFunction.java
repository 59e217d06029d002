package dev.quiver.registry.aggregate;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import dev.quiver.proto.v1.Aggregation;
import dev.quiver.proto.v1.AggregationFunction;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.Value;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.Types;
import dev.quiver.registry.rows.Values;
import dev.quiver.registry.semantics.OrderKey;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

/**
 * {@code last_k} and {@code first_k}: the values of the {@code k} rows with the greatest ({@code
 * last_k}, newest first) or smallest ({@code first_k}, oldest first) order keys, as a {@code
 * list<T>}; null over no rows. The state is those rows, at most k; the k extremes of a union are
 * the k extremes of the parts' extremes, and order keys identify rows (ties, should a key repeat,
 * go by value), so any order and grouping give the same list.
 */
final class EndValuesFunction implements AggregateFunction {
  static final int MAX_K = 1000;

  private final AggregationFunction id;
  private final boolean newest;

  private EndValuesFunction(AggregationFunction id, boolean newest) {
    this.id = id;
    this.newest = newest;
  }

  static EndValuesFunction lastK() {
    return new EndValuesFunction(AggregationFunction.AGGREGATION_FUNCTION_LAST_K, true);
  }

  static EndValuesFunction firstK() {
    return new EndValuesFunction(AggregationFunction.AGGREGATION_FUNCTION_FIRST_K, false);
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
    return Kernels.isScalar(input)
        ? Optional.of(Types.listOf(input.getScalar()))
        : Optional.empty();
  }

  @Override
  public List<ParameterRule> parameters() {
    return List.of(ParameterRule.required(AggregateParameter.K, 1, MAX_K));
  }

  @Override
  public AggregateKernel<?> bind(Aggregation spec) {
    ValueType type = Kernels.inputType(this, spec);
    int k = parameters().get(0).intValueIn(spec);
    ScalarType element = type.getScalar();
    // Kept first to last in result order: the first entry is the newest (last_k) or oldest.
    Comparator<EndFunction.Entry> order =
        (a, b) -> a.before(b, newest) ? -1 : b.before(a, newest) ? 1 : 0;
    return new AggregateKernel<TreeSet<EndFunction.Entry>>() {
      @Override
      public TreeSet<EndFunction.Entry> empty() {
        return new TreeSet<>(order);
      }

      @Override
      public TreeSet<EndFunction.Entry> add(
          TreeSet<EndFunction.Entry> state, Object input, OrderKey key) {
        offer(state, new EndFunction.Entry(key, Values.toProto(input, type)));
        return state;
      }

      private void offer(TreeSet<EndFunction.Entry> state, EndFunction.Entry e) {
        state.add(e);
        if (state.size() > k) {
          state.pollLast();
        }
      }

      @Override
      public TreeSet<EndFunction.Entry> merge(
          TreeSet<EndFunction.Entry> into, TreeSet<EndFunction.Entry> from) {
        from.forEach(e -> offer(into, e));
        return into;
      }

      @Override
      public Value result(TreeSet<EndFunction.Entry> state, long count) {
        if (state.isEmpty()) {
          return Values.nullValue();
        }
        List<Value> values = new ArrayList<>(state.size());
        state.forEach(e -> values.add(e.value()));
        return Kernels.list(element, values);
      }

      @Override
      public void write(TreeSet<EndFunction.Entry> state, CodedOutputStream out)
          throws IOException {
        out.writeUInt32NoTag(state.size());
        for (EndFunction.Entry e : state) {
          e.write(out);
        }
      }

      @Override
      public TreeSet<EndFunction.Entry> read(CodedInputStream in) throws IOException {
        TreeSet<EndFunction.Entry> s = empty();
        int n = in.readUInt32();
        for (int i = 0; i < n; i++) {
          s.add(EndFunction.Entry.read(in));
        }
        return s;
      }
    };
  }
}
