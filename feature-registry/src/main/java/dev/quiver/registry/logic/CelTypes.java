package dev.quiver.registry.logic;

import dev.cel.common.types.CelKind;
import dev.cel.common.types.CelType;
import dev.cel.common.types.ListType;
import dev.cel.common.types.SimpleType;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.Types;
import java.util.Optional;

/** How Quiver's value types map onto CEL's. */
public final class CelTypes {
  private CelTypes() {}

  /** The CEL type an expression sees for a field of {@code type}. */
  public static CelType of(ValueType type) {
    return type.hasListOf() ? ListType.create(of(type.getListOf())) : of(type.getScalar());
  }

  static CelType of(ScalarType scalar) {
    return switch (scalar) {
      case SCALAR_TYPE_BOOL -> SimpleType.BOOL;
      case SCALAR_TYPE_INT32, SCALAR_TYPE_INT64 -> SimpleType.INT;
      case SCALAR_TYPE_FLOAT, SCALAR_TYPE_DOUBLE -> SimpleType.DOUBLE;
      case SCALAR_TYPE_STRING -> SimpleType.STRING;
      case SCALAR_TYPE_BYTES -> SimpleType.BYTES;
      case SCALAR_TYPE_TIMESTAMP -> SimpleType.TIMESTAMP;
      default -> SimpleType.DYN;
    };
  }

  /** Whether a value of CEL type {@code actual} can be stored as {@code declared}. */
  public static boolean fits(CelType actual, ValueType declared) {
    if (actual.kind() == CelKind.DYN) {
      return true;
    }
    if (declared.hasListOf()) {
      return actual.kind() == CelKind.LIST
          && (((ListType) actual).elemType().kind() == CelKind.DYN
              || ((ListType) actual).elemType().equals(of(declared.getListOf())));
    }
    return actual.equals(of(declared));
  }

  /**
   * The natural Quiver type of a CEL type: int becomes int64, double becomes double. Empty for
   * types Quiver cannot store (maps, durations, dyn).
   */
  public static Optional<ValueType> natural(CelType type) {
    if (type.kind() == CelKind.LIST) {
      return natural(((ListType) type).elemType())
          .filter(ValueType::hasScalar)
          .map(t -> Types.listOf(t.getScalar()));
    }
    ScalarType s =
        switch (type.kind()) {
          case BOOL -> ScalarType.SCALAR_TYPE_BOOL;
          case INT -> ScalarType.SCALAR_TYPE_INT64;
          case DOUBLE -> ScalarType.SCALAR_TYPE_DOUBLE;
          case STRING -> ScalarType.SCALAR_TYPE_STRING;
          case BYTES -> ScalarType.SCALAR_TYPE_BYTES;
          case TIMESTAMP -> ScalarType.SCALAR_TYPE_TIMESTAMP;
          default -> null;
        };
    return Optional.ofNullable(s).map(Types::of);
  }

  /** CEL's name for a type, as users see it in CEL error messages. */
  public static String name(CelType type) {
    if (type.kind() == CelKind.LIST) {
      return "list(" + name(((ListType) type).elemType()) + ")";
    }
    return type.kind() == CelKind.TIMESTAMP ? "timestamp" : type.name();
  }
}
