package dev.quiver.registry.aggregate;

import com.google.protobuf.ByteString;
import dev.quiver.proto.v1.Value;
import java.util.Comparator;

/**
 * A total order on scalar values of one type, so that every choice between values (an extreme, a
 * tie) is the same whatever order they came in: numbers by value, with floating-point values in
 * {@link Double#compare} order ({@code -0.0 < 0.0}, NaN above infinity); strings by UTF-16 code
 * units; bytes as unsigned bytes; timestamps by instant; false before true.
 */
final class ValueOrder {
  private ValueOrder() {}

  static final Comparator<Value> ORDER = ValueOrder::compare;

  private static final Comparator<ByteString> BYTES =
      ByteString.unsignedLexicographicalComparator();

  static int compare(Value a, Value b) {
    if (a.getKindCase() != b.getKindCase()) {
      return Integer.compare(a.getKindCase().getNumber(), b.getKindCase().getNumber());
    }
    return switch (a.getKindCase()) {
      case BOOL_VALUE -> Boolean.compare(a.getBoolValue(), b.getBoolValue());
      case INT32_VALUE -> Integer.compare(a.getInt32Value(), b.getInt32Value());
      case INT64_VALUE -> Long.compare(a.getInt64Value(), b.getInt64Value());
      case FLOAT_VALUE -> Float.compare(a.getFloatValue(), b.getFloatValue());
      case DOUBLE_VALUE -> Double.compare(a.getDoubleValue(), b.getDoubleValue());
      case STRING_VALUE -> a.getStringValue().compareTo(b.getStringValue());
      case BYTES_VALUE -> BYTES.compare(a.getBytesValue(), b.getBytesValue());
      case TIMESTAMP_VALUE -> {
        int c =
            Long.compare(a.getTimestampValue().getSeconds(), b.getTimestampValue().getSeconds());
        yield c != 0
            ? c
            : Integer.compare(a.getTimestampValue().getNanos(), b.getTimestampValue().getNanos());
      }
      default -> BYTES.compare(a.toByteString(), b.toByteString());
    };
  }
}
