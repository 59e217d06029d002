package dev.quiver.proto;

import com.google.protobuf.Timestamp;
import dev.quiver.proto.v1.Value;
import java.time.Instant;
import java.util.List;

/**
 * The Java form of a {@link Value}, shared by every module that reads values (the client among
 * them, which depends on these contracts only).
 */
public final class JavaValues {
  private JavaValues() {}

  /**
   * Boolean, Integer, Long, Float, Double, String, ByteString, Instant, or an immutable List of
   * those; null for an explicit null or an unset value.
   */
  public static Object toJava(Value v) {
    return switch (v.getKindCase()) {
      case BOOL_VALUE -> v.getBoolValue();
      case INT32_VALUE -> v.getInt32Value();
      case INT64_VALUE -> v.getInt64Value();
      case FLOAT_VALUE -> v.getFloatValue();
      case DOUBLE_VALUE -> v.getDoubleValue();
      case STRING_VALUE -> v.getStringValue();
      case BYTES_VALUE -> v.getBytesValue();
      case TIMESTAMP_VALUE -> instant(v.getTimestampValue());
      case BOOL_LIST_VALUE -> List.copyOf(v.getBoolListValue().getValuesList());
      case INT32_LIST_VALUE -> List.copyOf(v.getInt32ListValue().getValuesList());
      case INT64_LIST_VALUE -> List.copyOf(v.getInt64ListValue().getValuesList());
      case FLOAT_LIST_VALUE -> List.copyOf(v.getFloatListValue().getValuesList());
      case DOUBLE_LIST_VALUE -> List.copyOf(v.getDoubleListValue().getValuesList());
      case STRING_LIST_VALUE -> List.copyOf(v.getStringListValue().getValuesList());
      case BYTES_LIST_VALUE -> List.copyOf(v.getBytesListValue().getValuesList());
      case TIMESTAMP_LIST_VALUE ->
          v.getTimestampListValue().getValuesList().stream().map(JavaValues::instant).toList();
      case NULL_VALUE, KIND_NOT_SET -> null;
    };
  }

  public static Instant instant(Timestamp t) {
    return Instant.ofEpochSecond(t.getSeconds(), t.getNanos());
  }
}
