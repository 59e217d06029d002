package dev.quiver.registry.formats;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.Message;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.Types;
import dev.quiver.registry.semantics.Micros;
import dev.quiver.registry.semantics.TimeRange;
import dev.quiver.registry.util.StrictUtf8;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.avro.LogicalType;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericEnumSymbol;
import org.apache.avro.generic.GenericFixed;
import org.apache.avro.util.Utf8;

/**
 * The one mapping between Quiver's declared types and Avro schemas and Protobuf fields: which of
 * their types a declared field may have ({@link #avroProblem}, {@link #protobufProblem}, checked
 * when a registry is validated), and how a value of each is read into its Java form ({@link
 * #fromAvro}, {@link #fromProtobuf}, by the decoders) and written from it ({@link #toAvro}, {@link
 * #toProtobuf}, by the encoders). Validation, decoding and encoding all call these methods, so the
 * three cannot disagree.
 *
 * <table>
 *   <caption>Declared type, Avro, Protobuf</caption>
 *   <tr><th>declared</th><th>Avro</th><th>Protobuf</th></tr>
 *   <tr><td>bool</td><td>boolean</td><td>bool</td></tr>
 *   <tr><td>int32</td><td>int</td><td>int32, sint32, sfixed32; uint32, fixed32 (a value past
 *       2^31-1 is out of range)</td></tr>
 *   <tr><td>int64</td><td>long</td><td>int64, sint64, sfixed64; uint64, fixed64 (past 2^63-1 is
 *       out of range)</td></tr>
 *   <tr><td>float</td><td>float</td><td>float</td></tr>
 *   <tr><td>double</td><td>double, float</td><td>double, float</td></tr>
 *   <tr><td>string</td><td>string, enum (the symbol)</td><td>string, enum (the value's
 *       name)</td></tr>
 *   <tr><td>bytes</td><td>bytes, fixed</td><td>bytes</td></tr>
 *   <tr><td>timestamp</td><td>long with logicalType timestamp-millis or timestamp-micros</td>
 *       <td>google.protobuf.Timestamp (truncated to microseconds), or int64, sint64, sfixed64 of
 *       epoch milliseconds</td></tr>
 *   <tr><td>list&lt;T&gt;</td><td>array of T's type</td><td>repeated field of T's type</td></tr>
 * </table>
 *
 * <p>An Avro union of null and one type is that type, optional; other unions fit no declared type.
 * Times outside {@link TimeRange} are refused on reading and on writing.
 *
 * <p>Stateless and thread-safe.
 */
public final class SchemaTypes {
  private SchemaTypes() {}

  /** The full name of Protobuf's timestamp message. */
  public static final String PROTOBUF_TIMESTAMP = "google.protobuf.Timestamp";

  private static final long MIN_SECOND = TimeRange.MIN.getEpochSecond();
  private static final long END_SECOND = TimeRange.END.getEpochSecond();

  // ------------------------------------------------------------------------------------- Avro

  /**
   * The type of a union of null and one other type, the schema itself when it is no union, or null
   * for any other union.
   */
  public static Schema nonNull(Schema s) {
    if (s.getType() != Schema.Type.UNION) {
      return s;
    }
    Schema other = null;
    for (Schema branch : s.getTypes()) {
      if (branch.getType() == Schema.Type.NULL) {
        continue;
      }
      if (other != null) {
        return null;
      }
      other = branch;
    }
    return other;
  }

  /**
   * Why an Avro field of schema {@code s} cannot hold a declared {@code type}, or null when it can.
   */
  public static String avroProblem(ValueType type, Schema s) {
    Schema v = nonNull(s);
    boolean fits;
    if (v == null) {
      fits = false;
    } else if (type.hasListOf()) {
      Schema items = v.getType() == Schema.Type.ARRAY ? nonNull(v.getElementType()) : null;
      fits = items != null && avroScalarFits(type.getListOf(), items);
    } else {
      fits = avroScalarFits(type.getScalar(), v);
    }
    return fits
        ? null
        : "declared "
            + Types.format(type)
            + " but the Avro schema has "
            + describe(s)
            + expected(type);
  }

  private static String expected(ValueType type) {
    if (type.hasListOf()) {
      return "; expected an array of what " + Types.format(type.getListOf()) + " takes";
    }
    return "; expected "
        + switch (type.getScalar()) {
          case SCALAR_TYPE_BOOL -> "boolean";
          case SCALAR_TYPE_INT32 -> "int";
          case SCALAR_TYPE_INT64 -> "long";
          case SCALAR_TYPE_FLOAT -> "float";
          case SCALAR_TYPE_DOUBLE -> "double or float";
          case SCALAR_TYPE_STRING -> "string or enum";
          case SCALAR_TYPE_BYTES -> "bytes or fixed";
          case SCALAR_TYPE_TIMESTAMP ->
              "long with logicalType timestamp-millis or timestamp-micros";
          default -> "a known type";
        };
  }

  private static boolean avroScalarFits(ScalarType t, Schema v) {
    Schema.Type a = v.getType();
    return switch (t) {
      case SCALAR_TYPE_BOOL -> a == Schema.Type.BOOLEAN;
      case SCALAR_TYPE_INT32 -> a == Schema.Type.INT;
      case SCALAR_TYPE_INT64 -> a == Schema.Type.LONG;
      case SCALAR_TYPE_FLOAT -> a == Schema.Type.FLOAT;
      case SCALAR_TYPE_DOUBLE -> a == Schema.Type.DOUBLE || a == Schema.Type.FLOAT;
      case SCALAR_TYPE_STRING -> a == Schema.Type.STRING || a == Schema.Type.ENUM;
      case SCALAR_TYPE_BYTES -> a == Schema.Type.BYTES || a == Schema.Type.FIXED;
      case SCALAR_TYPE_TIMESTAMP -> a == Schema.Type.LONG && avroTimeUnit(v) != 0;
      default -> false;
    };
  }

  /** 1000 for timestamp-millis, 1 for timestamp-micros, 0 for anything else. */
  private static int avroTimeUnit(Schema v) {
    LogicalType l = v.getLogicalType();
    String name = l != null ? l.getName() : v.getProp("logicalType");
    if ("timestamp-millis".equals(name)) {
      return 1000;
    }
    if ("timestamp-micros".equals(name)) {
      return 1;
    }
    return 0;
  }

  /** An Avro schema in a few words: {@code long (timestamp-millis)}, {@code union [null, int]}. */
  public static String describe(Schema s) {
    return switch (s.getType()) {
      case UNION -> {
        List<String> branches = new ArrayList<>();
        s.getTypes().forEach(b -> branches.add(describe(b)));
        yield "union [" + String.join(", ", branches) + "]";
      }
      case ARRAY -> "array of " + describe(s.getElementType());
      case MAP -> "map of " + describe(s.getValueType());
      case RECORD, ENUM -> s.getType().getName() + " " + s.getFullName();
      case FIXED -> "fixed " + s.getFullName() + " (" + s.getFixedSize() + " bytes)";
      default -> {
        String logical = s.getLogicalType() != null ? s.getLogicalType().getName() : null;
        yield s.getType().getName() + (logical == null ? "" : " (" + logical + ")");
      }
    };
  }

  /**
   * The Java form of an Avro datum of field schema {@code s} (already checked by {@link
   * #avroProblem}) that is not null.
   */
  public static Object fromAvro(ValueType type, Schema s, Object datum, String name)
      throws ValueException {
    Schema v = nonNull(s);
    if (type.hasListOf()) {
      Schema items = nonNull(v.getElementType());
      List<?> in = (List<?>) datum;
      List<Object> out = new ArrayList<>(in.size());
      for (int i = 0; i < in.size(); i++) {
        String at = name + "[" + i + "]";
        Object item = in.get(i);
        if (item == null) {
          throw nullElement(at);
        }
        out.add(element(() -> avroScalar(type.getListOf(), items, item, at)));
      }
      return List.copyOf(out);
    }
    return avroScalar(type.getScalar(), v, datum, name);
  }

  private static Object avroScalar(ScalarType t, Schema v, Object d, String name)
      throws ValueException {
    switch (t) {
      case SCALAR_TYPE_DOUBLE:
        return d instanceof Float f ? (Object) (double) f : d;
      case SCALAR_TYPE_STRING:
        if (d instanceof Utf8 u) {
          return utf8(u.getBytes(), u.getByteLength(), name);
        }
        if (d instanceof GenericEnumSymbol<?> e) {
          return e.toString();
        }
        return d.toString();
      case SCALAR_TYPE_BYTES:
        if (d instanceof ByteBuffer b) {
          return ByteString.copyFrom(b.duplicate());
        }
        return ByteString.copyFrom(((GenericFixed) d).bytes());
      case SCALAR_TYPE_TIMESTAMP:
        long n = (Long) d;
        if (avroTimeUnit(v) == 1000) {
          if (!TimeRange.containsMillis(n)) {
            throw outOfRange(name, n + " epoch milliseconds");
          }
          return Instant.ofEpochMilli(n);
        }
        if (!TimeRange.containsMicros(n)) {
          throw outOfRange(name, n + " epoch microseconds");
        }
        return Micros.toInstant(n);
      default:
        return d; // Boolean, Integer, Long, Float as Avro reads them
    }
  }

  /**
   * The Avro datum of a Java value (never null) for a field of schema {@code s} (already checked by
   * {@link #avroProblem}).
   */
  public static Object toAvro(ValueType type, Schema s, Object value, String name)
      throws ValueException {
    Schema v = nonNull(s);
    if (type.hasListOf()) {
      Schema items = nonNull(v.getElementType());
      List<?> in = (List<?>) value;
      List<Object> out = new ArrayList<>(in.size());
      for (int i = 0; i < in.size(); i++) {
        out.add(toAvroScalar(type.getListOf(), items, in.get(i), name + "[" + i + "]"));
      }
      return new GenericData.Array<>(v, out);
    }
    return toAvroScalar(type.getScalar(), v, value, name);
  }

  private static Object toAvroScalar(ScalarType t, Schema v, Object value, String name)
      throws ValueException {
    switch (t) {
      case SCALAR_TYPE_DOUBLE:
        if (v.getType() == Schema.Type.FLOAT) {
          return narrow((Double) value, name);
        }
        return value;
      case SCALAR_TYPE_STRING:
        if (v.getType() == Schema.Type.ENUM) {
          String symbol = (String) value;
          if (!v.hasEnumSymbol(symbol)) {
            throw new ValueException(
                ValueException.Kind.WRONG_TYPE,
                name,
                symbol,
                "'"
                    + name
                    + "' is '"
                    + symbol
                    + "', not a symbol of Avro enum "
                    + v.getFullName()
                    + " "
                    + v.getEnumSymbols());
          }
          return new GenericData.EnumSymbol(v, symbol);
        }
        return new Utf8((String) value);
      case SCALAR_TYPE_BYTES:
        byte[] bytes = ((ByteString) value).toByteArray();
        if (v.getType() == Schema.Type.FIXED) {
          if (bytes.length != v.getFixedSize()) {
            throw new ValueException(
                ValueException.Kind.WRONG_TYPE,
                name,
                bytes.length + " bytes",
                "'"
                    + name
                    + "' has "
                    + bytes.length
                    + " bytes; Avro fixed "
                    + v.getFullName()
                    + " holds "
                    + v.getFixedSize());
          }
          return new GenericData.Fixed(v, bytes);
        }
        return ByteBuffer.wrap(bytes);
      case SCALAR_TYPE_TIMESTAMP:
        long micros = micros((Instant) value, name);
        return avroTimeUnit(v) == 1000 ? Math.floorDiv(micros, 1000L) : micros;
      default:
        return value;
    }
  }

  // --------------------------------------------------------------------------------- Protobuf

  /**
   * Why a Protobuf field cannot hold a declared {@code type}, or null when it can. Map fields fit
   * nothing.
   */
  public static String protobufProblem(ValueType type, FieldDescriptor f) {
    boolean fits;
    if (f.isMapField()) {
      fits = false;
    } else if (type.hasListOf()) {
      fits = f.isRepeated() && protobufScalarFits(type.getListOf(), f);
    } else {
      fits = !f.isRepeated() && protobufScalarFits(type.getScalar(), f);
    }
    if (fits) {
      return null;
    }
    return "declared "
        + Types.format(type)
        + " but the Protobuf field is "
        + describe(f)
        + protobufExpected(type);
  }

  private static String protobufExpected(ValueType type) {
    if (type.hasListOf()) {
      return "; expected a repeated field of what " + Types.format(type.getListOf()) + " takes";
    }
    return "; expected "
        + switch (type.getScalar()) {
          case SCALAR_TYPE_BOOL -> "bool";
          case SCALAR_TYPE_INT32 -> "int32, sint32, sfixed32, uint32 or fixed32";
          case SCALAR_TYPE_INT64 -> "int64, sint64, sfixed64, uint64 or fixed64";
          case SCALAR_TYPE_FLOAT -> "float";
          case SCALAR_TYPE_DOUBLE -> "double or float";
          case SCALAR_TYPE_STRING -> "string or an enum";
          case SCALAR_TYPE_BYTES -> "bytes";
          case SCALAR_TYPE_TIMESTAMP ->
              PROTOBUF_TIMESTAMP + ", or int64, sint64 or sfixed64 of epoch milliseconds";
          default -> "a known type";
        };
  }

  private static boolean protobufScalarFits(ScalarType t, FieldDescriptor f) {
    FieldDescriptor.Type p = f.getType();
    return switch (t) {
      case SCALAR_TYPE_BOOL -> p == FieldDescriptor.Type.BOOL;
      case SCALAR_TYPE_INT32 ->
          switch (p) {
            case INT32, SINT32, SFIXED32, UINT32, FIXED32 -> true;
            default -> false;
          };
      case SCALAR_TYPE_INT64 ->
          switch (p) {
            case INT64, SINT64, SFIXED64, UINT64, FIXED64 -> true;
            default -> false;
          };
      case SCALAR_TYPE_FLOAT -> p == FieldDescriptor.Type.FLOAT;
      case SCALAR_TYPE_DOUBLE ->
          p == FieldDescriptor.Type.DOUBLE || p == FieldDescriptor.Type.FLOAT;
      case SCALAR_TYPE_STRING -> p == FieldDescriptor.Type.STRING || p == FieldDescriptor.Type.ENUM;
      case SCALAR_TYPE_BYTES -> p == FieldDescriptor.Type.BYTES;
      case SCALAR_TYPE_TIMESTAMP ->
          switch (p) {
            case MESSAGE -> f.getMessageType().getFullName().equals(PROTOBUF_TIMESTAMP);
            case INT64, SINT64, SFIXED64 -> true;
            default -> false;
          };
      default -> false;
    };
  }

  /** A Protobuf field's type in a few words: {@code repeated int32}, {@code message a.B}. */
  public static String describe(FieldDescriptor f) {
    String type =
        switch (f.getJavaType()) {
          case MESSAGE -> (f.isMapField() ? "map " : "message ") + f.getMessageType().getFullName();
          case ENUM -> "enum " + f.getEnumType().getFullName();
          default -> f.getType().name().toLowerCase(Locale.ROOT);
        };
    return (f.isRepeated() && !f.isMapField() ? "repeated " : "") + type;
  }

  /**
   * The Java form of a Protobuf field's value as {@link Message#getField} gives it (already checked
   * by {@link #protobufProblem}).
   */
  public static Object fromProtobuf(ValueType type, FieldDescriptor f, Object value, String name)
      throws ValueException {
    if (type.hasListOf()) {
      List<?> in = (List<?>) value;
      List<Object> out = new ArrayList<>(in.size());
      for (int i = 0; i < in.size(); i++) {
        String at = name + "[" + i + "]";
        Object item = in.get(i);
        out.add(element(() -> protobufScalar(type.getListOf(), f, item, at)));
      }
      return List.copyOf(out);
    }
    return protobufScalar(type.getScalar(), f, value, name);
  }

  private static Object protobufScalar(ScalarType t, FieldDescriptor f, Object v, String name)
      throws ValueException {
    switch (t) {
      case SCALAR_TYPE_INT32:
        int i = (Integer) v;
        if (i < 0 && unsigned(f)) {
          throw new ValueException(
              ValueException.Kind.OUT_OF_RANGE,
              name,
              Integer.toUnsignedString(i),
              "'" + name + "' is " + Integer.toUnsignedString(i) + ", out of range for int32");
        }
        return i;
      case SCALAR_TYPE_INT64:
        long l = (Long) v;
        if (l < 0 && unsigned(f)) {
          throw new ValueException(
              ValueException.Kind.OUT_OF_RANGE,
              name,
              Long.toUnsignedString(l),
              "'" + name + "' is " + Long.toUnsignedString(l) + ", out of range for int64");
        }
        return l;
      case SCALAR_TYPE_DOUBLE:
        return v instanceof Float fl ? (Object) (double) fl : v;
      case SCALAR_TYPE_STRING:
        if (v instanceof EnumValueDescriptor e) {
          if (e.getIndex() < 0) {
            throw new ValueException(
                ValueException.Kind.OUT_OF_RANGE,
                name,
                Integer.toString(e.getNumber()),
                "'"
                    + name
                    + "' is enum number "
                    + e.getNumber()
                    + ", not a value of "
                    + e.getType().getFullName());
          }
          return e.getName();
        }
        return v;
      case SCALAR_TYPE_TIMESTAMP:
        if (v instanceof Long ms) {
          if (!TimeRange.containsMillis(ms)) {
            throw outOfRange(name, ms + " epoch milliseconds");
          }
          return Instant.ofEpochMilli(ms);
        }
        long seconds;
        int nanos;
        if (v instanceof com.google.protobuf.Timestamp ts) {
          seconds = ts.getSeconds();
          nanos = ts.getNanos();
        } else {
          Message m = (Message) v;
          Descriptor d = m.getDescriptorForType();
          seconds = (Long) m.getField(d.findFieldByName("seconds"));
          nanos = (Integer) m.getField(d.findFieldByName("nanos"));
        }
        String text = "{seconds: " + seconds + ", nanos: " + nanos + "}";
        if (nanos < 0 || nanos > 999_999_999) {
          throw new ValueException(
              ValueException.Kind.OUT_OF_RANGE,
              name,
              text,
              "'" + name + "' is " + text + "; nanos must be 0 to 999999999");
        }
        if (seconds < MIN_SECOND || seconds >= END_SECOND) {
          throw outOfRange(name, text);
        }
        return Micros.truncate(Instant.ofEpochSecond(seconds, nanos));
      default:
        return v; // Boolean, Float, String, ByteString as Protobuf reads them
    }
  }

  private static boolean unsigned(FieldDescriptor f) {
    return switch (f.getType()) {
      case UINT32, FIXED32, UINT64, FIXED64 -> true;
      default -> false;
    };
  }

  /**
   * The value of a Java value (never null) as {@link DynamicMessage.Builder#setField} takes it, for
   * a field already checked by {@link #protobufProblem}.
   */
  public static Object toProtobuf(ValueType type, FieldDescriptor f, Object value, String name)
      throws ValueException {
    if (type.hasListOf()) {
      List<?> in = (List<?>) value;
      List<Object> out = new ArrayList<>(in.size());
      for (int i = 0; i < in.size(); i++) {
        out.add(toProtobufScalar(type.getListOf(), f, in.get(i), name + "[" + i + "]"));
      }
      return out;
    }
    return toProtobufScalar(type.getScalar(), f, value, name);
  }

  private static Object toProtobufScalar(ScalarType t, FieldDescriptor f, Object value, String name)
      throws ValueException {
    switch (t) {
      case SCALAR_TYPE_INT32:
      case SCALAR_TYPE_INT64:
        long n = ((Number) value).longValue();
        if (n < 0 && unsigned(f)) {
          throw new ValueException(
              ValueException.Kind.OUT_OF_RANGE,
              name,
              Long.toString(n),
              "'" + name + "' is " + n + ", out of range for Protobuf " + describe(f));
        }
        return value;
      case SCALAR_TYPE_DOUBLE:
        if (f.getType() == FieldDescriptor.Type.FLOAT) {
          return narrow((Double) value, name);
        }
        return value;
      case SCALAR_TYPE_STRING:
        if (f.getType() == FieldDescriptor.Type.ENUM) {
          EnumValueDescriptor e = f.getEnumType().findValueByName((String) value);
          if (e == null) {
            throw new ValueException(
                ValueException.Kind.WRONG_TYPE,
                name,
                (String) value,
                "'"
                    + name
                    + "' is '"
                    + value
                    + "', not a value of Protobuf enum "
                    + f.getEnumType().getFullName());
          }
          return e;
        }
        return value;
      case SCALAR_TYPE_TIMESTAMP:
        long micros = micros((Instant) value, name);
        if (f.getType() != FieldDescriptor.Type.MESSAGE) {
          return Math.floorDiv(micros, 1000L);
        }
        Descriptor d = f.getMessageType();
        return DynamicMessage.newBuilder(d)
            .setField(d.findFieldByName("seconds"), Micros.epochSecond(micros))
            .setField(d.findFieldByName("nanos"), Micros.nanoOfSecond(micros))
            .build();
      default:
        return value;
    }
  }

  // ---------------------------------------------------------------------------------- shared

  /** Reads one list element; its problems other than strings and times are list-element ones. */
  private static Object element(Conversion c) throws ValueException {
    try {
      return c.run();
    } catch (ValueException e) {
      if (e.kind() == ValueException.Kind.INVALID_STRING
          || e.kind() == ValueException.Kind.TIMESTAMP_OUT_OF_RANGE) {
        throw e;
      }
      throw new ValueException(
          ValueException.Kind.BAD_LIST_ELEMENT, e.field(), e.value(), e.getMessage());
    }
  }

  @FunctionalInterface
  private interface Conversion {
    Object run() throws ValueException;
  }

  private static ValueException nullElement(String at) {
    return new ValueException(
        ValueException.Kind.BAD_LIST_ELEMENT,
        at,
        "null",
        "'" + at + "' is null; list elements cannot be null");
  }

  private static ValueException outOfRange(String name, String value) {
    return new ValueException(
        ValueException.Kind.TIMESTAMP_OUT_OF_RANGE,
        name,
        value,
        "'" + name + "' is " + value + ", outside the accepted times " + TimeRange.describe());
  }

  private static long micros(Instant t, String name) throws ValueException {
    if (!TimeRange.contains(t)) {
      throw outOfRange(name, t.toString());
    }
    return Micros.of(t);
  }

  private static Float narrow(double d, String name) throws ValueException {
    float f = (float) d;
    if (Float.isInfinite(f) && !Double.isInfinite(d)) {
      throw new ValueException(
          ValueException.Kind.OUT_OF_RANGE,
          name,
          Double.toString(d),
          "'" + name + "' is " + d + ", out of range for float");
    }
    return f;
  }

  /** Strict UTF-8 text of the first {@code length} bytes. */
  private static String utf8(byte[] bytes, int length, String name) throws ValueException {
    boolean ascii = true;
    for (int i = 0; i < length; i++) {
      if (bytes[i] < 0) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      return new String(bytes, 0, length, java.nio.charset.StandardCharsets.ISO_8859_1);
    }
    byte[] exact = length == bytes.length ? bytes : java.util.Arrays.copyOf(bytes, length);
    try {
      return StrictUtf8.decode(exact).toString();
    } catch (StrictUtf8.MalformedException e) {
      throw new ValueException(
          ValueException.Kind.INVALID_STRING,
          name,
          null,
          String.format(
              "'%s' holds invalid UTF-8 at byte %d of %d (0x%02X)",
              name, e.byteOffset(), length, e.badByte()));
    }
  }
}
