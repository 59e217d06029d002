package dev.quiver.registry.rows;

import com.google.protobuf.ByteString;
import com.google.protobuf.NullValue;
import com.google.protobuf.Timestamp;
import dev.quiver.proto.v1.BoolList;
import dev.quiver.proto.v1.BytesList;
import dev.quiver.proto.v1.DoubleList;
import dev.quiver.proto.v1.FloatList;
import dev.quiver.proto.v1.Int32List;
import dev.quiver.proto.v1.Int64List;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.StringList;
import dev.quiver.proto.v1.TimestampList;
import dev.quiver.proto.v1.Value;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.semantics.Micros;
import java.time.Instant;
import java.util.List;

/**
 * Converts between the Java form of feature values (see {@link
 * dev.quiver.registry.logic.CompiledExpression}) and {@link Value}.
 */
public final class Values {
  private static final Value NULL = Value.newBuilder().setNullValue(NullValue.NULL_VALUE).build();

  private Values() {}

  /** An explicit null. */
  public static Value nullValue() {
    return NULL;
  }

  /**
   * The proto form of {@code value}, declared {@code type}; null becomes an explicit null.
   *
   * @throws IllegalArgumentException if the Java value does not fit the type
   */
  public static Value toProto(Object value, ValueType type) {
    if (value == null) {
      return NULL;
    }
    if (type.hasListOf()) {
      return list((List<?>) value, type.getListOf());
    }
    Value.Builder b = Value.newBuilder();
    switch (type.getScalar()) {
      case SCALAR_TYPE_BOOL -> b.setBoolValue((Boolean) value);
      case SCALAR_TYPE_INT32 -> b.setInt32Value(((Number) value).intValue());
      case SCALAR_TYPE_INT64 -> b.setInt64Value(((Number) value).longValue());
      case SCALAR_TYPE_FLOAT -> b.setFloatValue(((Number) value).floatValue());
      case SCALAR_TYPE_DOUBLE -> b.setDoubleValue(((Number) value).doubleValue());
      case SCALAR_TYPE_STRING -> b.setStringValue((String) value);
      case SCALAR_TYPE_BYTES -> b.setBytesValue(bytes(value));
      case SCALAR_TYPE_TIMESTAMP -> b.setTimestampValue(timestamp((Instant) value));
      default -> throw new IllegalArgumentException("no value of type " + type);
    }
    return b.build();
  }

  private static Value list(List<?> items, ScalarType element) {
    Value.Builder b = Value.newBuilder();
    switch (element) {
      case SCALAR_TYPE_BOOL -> {
        BoolList.Builder l = BoolList.newBuilder();
        items.forEach(i -> l.addValues((Boolean) i));
        b.setBoolListValue(l);
      }
      case SCALAR_TYPE_INT32 -> {
        Int32List.Builder l = Int32List.newBuilder();
        items.forEach(i -> l.addValues(((Number) i).intValue()));
        b.setInt32ListValue(l);
      }
      case SCALAR_TYPE_INT64 -> {
        Int64List.Builder l = Int64List.newBuilder();
        items.forEach(i -> l.addValues(((Number) i).longValue()));
        b.setInt64ListValue(l);
      }
      case SCALAR_TYPE_FLOAT -> {
        FloatList.Builder l = FloatList.newBuilder();
        items.forEach(i -> l.addValues(((Number) i).floatValue()));
        b.setFloatListValue(l);
      }
      case SCALAR_TYPE_DOUBLE -> {
        DoubleList.Builder l = DoubleList.newBuilder();
        items.forEach(i -> l.addValues(((Number) i).doubleValue()));
        b.setDoubleListValue(l);
      }
      case SCALAR_TYPE_STRING -> {
        StringList.Builder l = StringList.newBuilder();
        items.forEach(i -> l.addValues((String) i));
        b.setStringListValue(l);
      }
      case SCALAR_TYPE_BYTES -> {
        BytesList.Builder l = BytesList.newBuilder();
        items.forEach(i -> l.addValues(bytes(i)));
        b.setBytesListValue(l);
      }
      case SCALAR_TYPE_TIMESTAMP -> {
        TimestampList.Builder l = TimestampList.newBuilder();
        items.forEach(i -> l.addValues(timestamp((Instant) i)));
        b.setTimestampListValue(l);
      }
      default -> throw new IllegalArgumentException("no list of " + element);
    }
    return b.build();
  }

  /** The timestamp of {@code i}, in the one unit of time: sub-microsecond digits dropped. */
  public static Timestamp timestamp(Instant i) {
    return Micros.timestamp(Micros.of(i));
  }

  private static ByteString bytes(Object value) {
    return value instanceof byte[] b ? ByteString.copyFrom(b) : (ByteString) value;
  }
}
