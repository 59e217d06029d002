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
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * {@code top_k}: a {@code list<T>} of the {@code k} most frequent non-null inputs (parameter {@code
 * k}, 1–1000, required), most frequent first, ties by value ascending; null over no rows.
 *
 * <p>The DataSketches frequent-items sketch cannot be the state: when its map fills it purges by
 * subtracting a median count, and which items survive depends on the order of updates and merges.
 * The state instead counts every distinct value exactly while there are at most {@value #DISTINCT}
 * of them (counts add, in any order), and keeps beside the counts a {@link RowSample} of {@value
 * #DISTINCT} rows. Once the distinct values of a state (or of anything merged into it) exceed
 * {@value #DISTINCT}, which is a property of the set of rows and not of their order, the counts are
 * dropped and the result is the top k of the sample: the k most frequent values of a uniform sample
 * of rows. Either way it depends only on the set of rows.
 */
final class TopKFunction implements AggregateFunction {
  static final int DISTINCT = 1024;
  static final ParameterRule K = ParameterRule.required(AggregateParameter.K, 1, 1000);

  @Override
  public AggregationFunction id() {
    return AggregationFunction.AGGREGATION_FUNCTION_TOP_K;
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
    return List.of(K);
  }

  /** Exact counts of each value (null once past {@link #DISTINCT} values), and a row sample. */
  static final class Counts {
    TreeMap<Value, Long> exact = new TreeMap<>(ValueOrder.ORDER);
    final RowSample sample = new RowSample(DISTINCT);

    void count(Value v, long n) {
      if (exact != null) {
        exact.merge(v, n, Long::sum);
        if (exact.size() > DISTINCT) {
          exact = null;
        }
      }
    }
  }

  @Override
  public AggregateKernel<?> bind(Aggregation spec) {
    ValueType type = Kernels.inputType(this, spec);
    int k = K.intValueIn(spec);
    ScalarType element = type.getScalar();
    return new AggregateKernel<Counts>() {
      @Override
      public Counts empty() {
        return new Counts();
      }

      @Override
      public Counts add(Counts s, Object input, OrderKey order) {
        Value v = Values.toProto(input, type);
        s.count(v, 1);
        s.sample.add(v, order);
        return s;
      }

      @Override
      public Counts merge(Counts into, Counts from) {
        if (from.exact == null) {
          into.exact = null;
        } else {
          from.exact.forEach(into::count);
        }
        into.sample.merge(from.sample);
        return into;
      }

      @Override
      public Value result(Counts s, long count) {
        TreeMap<Value, Long> counts = s.exact;
        if (counts == null) {
          counts = new TreeMap<>(ValueOrder.ORDER);
          for (Value v : s.sample.values()) {
            counts.merge(v, 1L, Long::sum);
          }
        }
        if (counts.isEmpty()) {
          return Values.nullValue();
        }
        List<Map.Entry<Value, Long>> ranked = new ArrayList<>(counts.entrySet());
        ranked.sort(
            Comparator.<Map.Entry<Value, Long>>comparingLong(Map.Entry::getValue)
                .reversed()
                .thenComparing(Map.Entry::getKey, ValueOrder.ORDER));
        List<Value> top = new ArrayList<>(Math.min(k, ranked.size()));
        for (int i = 0; i < ranked.size() && i < k; i++) {
          top.add(ranked.get(i).getKey());
        }
        return Kernels.list(element, top);
      }

      @Override
      public void write(Counts s, CodedOutputStream out) throws IOException {
        out.writeBoolNoTag(s.exact != null);
        if (s.exact != null) {
          out.writeUInt32NoTag(s.exact.size());
          for (Map.Entry<Value, Long> e : s.exact.entrySet()) {
            Kernels.writeValue(out, e.getKey());
            out.writeUInt64NoTag(e.getValue());
          }
        }
        s.sample.write(out);
      }

      @Override
      public Counts read(CodedInputStream in) throws IOException {
        Counts s = new Counts();
        if (in.readBool()) {
          int n = in.readUInt32();
          for (int i = 0; i < n; i++) {
            s.exact.put(Kernels.readValue(in), in.readUInt64());
          }
        } else {
          s.exact = null;
        }
        s.sample.merge(RowSample.read(in, DISTINCT));
        return s;
      }
    };
  }
}
