package dev.quiver.registry;

import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.ValueType;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The type names of registry files ({@code double}, {@code list<float>}) and their proto form. */
public final class Types {
  private static final Pattern LIST = Pattern.compile("list\\s*<\\s*([a-z0-9]+)\\s*>");

  /** Every accepted spelling, for error messages and the JSON Schema. */
  public static final String NAMES =
      "bool, int32, int64, float, double, string, bytes, timestamp, or list<T> of one of those";

  private Types() {}

  /** Parses a type name; empty if it is not one. */
  public static Optional<ValueType> parse(String text) {
    String t = text.trim();
    Matcher m = LIST.matcher(t);
    if (m.matches()) {
      return scalar(m.group(1)).map(s -> ValueType.newBuilder().setListOf(s).build());
    }
    return scalar(t).map(s -> ValueType.newBuilder().setScalar(s).build());
  }

  /** A scalar type name; empty if it is not one. */
  public static Optional<ScalarType> scalar(String name) {
    return switch (name) {
      case "bool" -> Optional.of(ScalarType.SCALAR_TYPE_BOOL);
      case "int32" -> Optional.of(ScalarType.SCALAR_TYPE_INT32);
      case "int64" -> Optional.of(ScalarType.SCALAR_TYPE_INT64);
      case "float" -> Optional.of(ScalarType.SCALAR_TYPE_FLOAT);
      case "double" -> Optional.of(ScalarType.SCALAR_TYPE_DOUBLE);
      case "string" -> Optional.of(ScalarType.SCALAR_TYPE_STRING);
      case "bytes" -> Optional.of(ScalarType.SCALAR_TYPE_BYTES);
      case "timestamp" -> Optional.of(ScalarType.SCALAR_TYPE_TIMESTAMP);
      default -> Optional.empty();
    };
  }

  public static ValueType of(ScalarType scalar) {
    return ValueType.newBuilder().setScalar(scalar).build();
  }

  public static ValueType listOf(ScalarType element) {
    return ValueType.newBuilder().setListOf(element).build();
  }

  /** The registry-file spelling of a type. */
  public static String format(ValueType type) {
    return switch (type.getKindCase()) {
      case SCALAR -> format(type.getScalar());
      case LIST_OF -> "list<" + format(type.getListOf()) + ">";
      case KIND_NOT_SET -> "unspecified";
    };
  }

  public static String format(ScalarType scalar) {
    return scalar.name().substring("SCALAR_TYPE_".length()).toLowerCase(Locale.ROOT);
  }

  public static boolean isNumeric(ValueType type) {
    if (!type.hasScalar()) {
      return false;
    }
    return switch (type.getScalar()) {
      case SCALAR_TYPE_INT32, SCALAR_TYPE_INT64, SCALAR_TYPE_FLOAT, SCALAR_TYPE_DOUBLE -> true;
      default -> false;
    };
  }

  public static boolean isIntegral(ValueType type) {
    return type.hasScalar()
        && (type.getScalar() == ScalarType.SCALAR_TYPE_INT32
            || type.getScalar() == ScalarType.SCALAR_TYPE_INT64);
  }
}
