package dev.quiver.registry.aggregate;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.ExtensionRegistryLite;
import dev.quiver.proto.JavaValues;
import dev.quiver.proto.v1.Aggregation;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.Value;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.Types;
import dev.quiver.registry.rows.Values;
import dev.quiver.registry.semantics.OrderKey;
import java.io.IOException;
import java.util.List;

/** What the functions' kernels share: checking a spec's input, and the codec of common parts. */
final class Kernels {
  private Kernels() {}

  /**
   * The input type of {@code spec}, checked against {@code f}'s rules.
   *
   * @throws IllegalArgumentException if the spec has no input type or one {@code f} refuses
   */
  static ValueType inputType(AggregateFunction f, Aggregation spec) {
    if (!spec.hasInputType() || spec.getInput().isEmpty()) {
      throw new IllegalArgumentException(
          "aggregation "
              + spec.getName()
              + " has no typed input; function "
              + f.id()
              + " aggregates "
              + f.accepts());
    }
    ValueType t = spec.getInputType();
    if (f.resultType(t).isEmpty()) {
      throw new IllegalArgumentException(
          "function "
              + f.id()
              + " of aggregation "
              + spec.getName()
              + " cannot aggregate "
              + Types.format(t)
              + "; expected "
              + f.accepts());
    }
    return t;
  }

  static boolean isScalar(ValueType t) {
    return t != null && t.hasScalar() && t.getScalar() != ScalarType.SCALAR_TYPE_UNSPECIFIED;
  }

  /** A list value of {@code element} holding {@code items} in order. */
  static Value list(ScalarType element, List<Value> items) {
    return Values.toProto(items.stream().map(JavaValues::toJava).toList(), Types.listOf(element));
  }

  static void writeOrder(CodedOutputStream out, OrderKey o) throws IOException {
    out.writeSInt64NoTag(o.eventTimeMicros());
    out.writeSInt64NoTag(o.createdTimeMicros());
    out.writeInt32NoTag(o.partition());
    out.writeInt64NoTag(o.offset());
  }

  static OrderKey readOrder(CodedInputStream in) throws IOException {
    return new OrderKey(in.readSInt64(), in.readSInt64(), in.readInt32(), in.readInt64());
  }

  static void writeValue(CodedOutputStream out, Value v) throws IOException {
    out.writeMessageNoTag(v);
  }

  static Value readValue(CodedInputStream in) throws IOException {
    return in.readMessage(Value.parser(), ExtensionRegistryLite.getEmptyRegistry());
  }
}
