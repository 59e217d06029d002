package dev.quiver.ingestion;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.google.protobuf.ByteString;
import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.Source;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.Types;
import dev.quiver.registry.semantics.Rfc3339;
import dev.quiver.registry.semantics.TimeRange;
import dev.quiver.registry.util.Messages;
import dev.quiver.registry.util.StrictUtf8;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.CharBuffer;
import java.time.DateTimeException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Decodes JSON records of one source against its schema. Fields not in the schema are ignored;
 * declared fields may be absent or null except the join keys and the event timestamp. Numbers must
 * fit their declared type exactly (an int32 field rejects 2^31 and 1.5); timestamps are RFC 3339
 * strings or epoch milliseconds; bytes are base64.
 *
 * <p>What is refused rather than guessed at: text that is not UTF-8, strings holding a lone UTF-16
 * surrogate ({@code invalid_string}: neither would survive storage unchanged, and a mangled join
 * key could overwrite another entity); times outside {@link TimeRange} ({@code
 * timestamp_out_of_range}); JSON past the decoder's limits ({@code json_limit_exceeded}): nesting
 * deeper than {@value #MAX_NESTING_DEPTH}, a number longer than {@value #MAX_NUMBER_LENGTH}
 * characters, a string or a field name longer than {@value #MAX_STRING_LENGTH} characters. NUL
 * characters are valid Unicode and kept as they are. Timestamp text, leap seconds included, is read
 * by {@link Rfc3339}, as entity tables are.
 *
 * <p>Java forms: bool Boolean, int32 Integer, int64 Long, float Float, double Double, string
 * String, bytes ByteString, timestamp Instant, list&lt;T&gt; an immutable List.
 *
 * <p>Thread-safe.
 */
public final class JsonRecordDecoder implements RecordDecoder {
  /** The deepest nesting of objects and arrays read (source records are flat; fields may nest). */
  public static final int MAX_NESTING_DEPTH = 100;

  /** The longest number read, in characters; longer ones fit no declared type anyway. */
  public static final int MAX_NUMBER_LENGTH = 1000;

  /**
   * The longest string or field name read, in characters. A record is bounded by the topic's {@code
   * max.message.bytes} first; stored values by {@link IngestionConfig.Limits}.
   */
  public static final int MAX_STRING_LENGTH = 20_000_000;

  private static final JsonFactory JSON =
      JsonFactory.builder()
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .streamReadConstraints(
              StreamReadConstraints.builder()
                  .maxNestingDepth(MAX_NESTING_DEPTH)
                  .maxNumberLength(MAX_NUMBER_LENGTH)
                  .maxStringLength(MAX_STRING_LENGTH)
                  .maxNameLength(MAX_STRING_LENGTH)
                  .build())
          .build();

  private static final BigInteger LONG_MIN = BigInteger.valueOf(Long.MIN_VALUE);
  private static final BigInteger LONG_MAX = BigInteger.valueOf(Long.MAX_VALUE);

  private final Map<String, ValueType> schema = new HashMap<>();

  /** A decoder of the fields {@code source} declares. */
  public JsonRecordDecoder(Source source) {
    for (Field f : source.getSchemaList()) {
      schema.put(f.getName(), f.getType());
    }
  }

  @Override
  public Fields decode(byte[] value) throws BadRecordException {
    CharBuffer text = utf8(value);
    Map<String, Object> fields = new HashMap<>();
    java.util.Set<String> nulls = new java.util.HashSet<>();
    try (JsonParser p = JSON.createParser(text.array(), text.arrayOffset(), text.remaining())) {
      JsonToken first = p.nextToken();
      if (first == null) {
        throw new BadRecordException(DeadLetterReason.NOT_JSON, "record value is empty");
      }
      if (first != JsonToken.START_OBJECT) {
        throw new BadRecordException(
            DeadLetterReason.NOT_AN_OBJECT, "expected a JSON object, found " + describe(first));
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken t = p.nextToken();
        ValueType type = schema.get(name);
        if (type == null) {
          p.skipChildren();
          continue;
        }
        if (t == JsonToken.VALUE_NULL) {
          nulls.add(name);
          continue;
        }
        fields.put(name, read(p, t, type, name));
      }
      if (p.nextToken() != null) {
        throw new BadRecordException(
            DeadLetterReason.NOT_JSON, "unexpected content after the JSON object");
      }
    } catch (StreamConstraintsException e) {
      throw new BadRecordException(
          DeadLetterReason.JSON_LIMIT_EXCEEDED,
          "JSON past the decoder's limits: " + Messages.clip(e.getOriginalMessage()));
    } catch (JsonParseException e) {
      String m = Messages.clip(e.getOriginalMessage());
      if (m != null && m.startsWith("Duplicate field")) {
        throw new BadRecordException(DeadLetterReason.DUPLICATE_FIELD, m);
      }
      throw new BadRecordException(
          DeadLetterReason.NOT_JSON,
          "not valid JSON: "
              + m
              + " at line "
              + e.getLocation().getLineNr()
              + ", column "
              + e.getLocation().getColumnNr());
    } catch (IOException e) {
      throw new BadRecordException(
          DeadLetterReason.NOT_JSON, "not valid JSON: " + Messages.clip(e.getMessage()));
    }
    return new Fields(fields, nulls);
  }

  /**
   * The record as text, refusing invalid UTF-8: inside what starts as a JSON object it is an
   * invalid string (the bytes would be replaced and the value changed); anything else is not JSON.
   */
  private static CharBuffer utf8(byte[] value) throws BadRecordException {
    try {
      return StrictUtf8.decode(value);
    } catch (StrictUtf8.MalformedException e) {
      boolean object = false;
      for (byte b : value) {
        if (b != ' ' && b != '\t' && b != '\n' && b != '\r') {
          object = b == '{';
          break;
        }
      }
      throw new BadRecordException(
          object ? DeadLetterReason.INVALID_STRING : DeadLetterReason.NOT_JSON,
          String.format(
              "invalid UTF-8 at byte %d of %d (0x%02X)",
              e.byteOffset(), value.length, e.badByte()));
    }
  }

  /** A number as written, cut like any quoted input when it is long. */
  private static String number(String text) {
    return text.length() <= Messages.MAX_QUOTED ? text : Messages.quote(text);
  }

  /** The string, refused if it holds a UTF-16 surrogate that is not half of a pair. */
  private static String checkedString(String s, String name) throws BadRecordException {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isSurrogate(c)) {
        if (Character.isHighSurrogate(c)
            && i + 1 < s.length()
            && Character.isLowSurrogate(s.charAt(i + 1))) {
          i++;
          continue;
        }
        throw new BadRecordException(
            DeadLetterReason.INVALID_STRING,
            String.format(
                "'%s' holds a lone UTF-16 surrogate \\u%04x at character %d of %d; strings must be"
                    + " valid Unicode",
                name, (int) c, i, s.length()));
      }
    }
    return s;
  }

  private static Instant parseTimestamp(String text, String name) throws BadRecordException {
    Instant t;
    try {
      t = Rfc3339.parse(text);
    } catch (Rfc3339.NotALeapSecondException e) {
      throw new BadRecordException(
          DeadLetterReason.BAD_TIMESTAMP,
          "'" + name + "' is " + Messages.quote(text) + ": " + e.getMessage());
    } catch (DateTimeException e) {
      throw new BadRecordException(
          DeadLetterReason.BAD_TIMESTAMP,
          "'"
              + name
              + "' is "
              + Messages.quote(text)
              + "; expected an RFC 3339 timestamp such as 2026-01-31T12:00:00Z, or epoch"
              + " milliseconds");
    }
    if (!TimeRange.contains(t)) {
      throw SourceRecords.outOfRange(name, Messages.quote(text));
    }
    return t;
  }

  private Object read(JsonParser p, JsonToken t, ValueType type, String name)
      throws IOException, BadRecordException {
    if (type.hasListOf()) {
      if (t != JsonToken.START_ARRAY) {
        throw wrongType(name, type, t);
      }
      List<Object> items = new ArrayList<>();
      ScalarType element = type.getListOf();
      int i = 0;
      for (JsonToken e = p.nextToken(); e != JsonToken.END_ARRAY; e = p.nextToken(), i++) {
        String at = name + "[" + i + "]";
        if (e == JsonToken.VALUE_NULL) {
          throw new BadRecordException(
              DeadLetterReason.BAD_LIST_ELEMENT,
              "'" + at + "' is null; list elements cannot be null");
        }
        try {
          items.add(scalar(p, e, element, at));
        } catch (BadRecordException bad) {
          if (bad.reason() == DeadLetterReason.INVALID_STRING
              || bad.reason() == DeadLetterReason.TIMESTAMP_OUT_OF_RANGE) {
            throw bad;
          }
          throw new BadRecordException(DeadLetterReason.BAD_LIST_ELEMENT, bad.getMessage());
        }
      }
      return List.copyOf(items);
    }
    return scalar(p, t, type.getScalar(), name);
  }

  private Object scalar(JsonParser p, JsonToken t, ScalarType type, String name)
      throws IOException, BadRecordException {
    switch (type) {
      case SCALAR_TYPE_BOOL:
        if (t == JsonToken.VALUE_TRUE || t == JsonToken.VALUE_FALSE) {
          return t == JsonToken.VALUE_TRUE;
        }
        break;
      case SCALAR_TYPE_INT32:
      case SCALAR_TYPE_INT64:
        if (t == JsonToken.VALUE_NUMBER_INT) {
          BigInteger v = p.getBigIntegerValue();
          boolean int32 = type == ScalarType.SCALAR_TYPE_INT32;
          if (int32 ? v.bitLength() > 31 : v.compareTo(LONG_MIN) < 0 || v.compareTo(LONG_MAX) > 0) {
            throw new BadRecordException(
                DeadLetterReason.OUT_OF_RANGE,
                "'"
                    + name
                    + "' is "
                    + number(v.toString())
                    + ", out of range for "
                    + Types.format(type));
          }
          return int32 ? (Object) v.intValue() : (Object) v.longValue();
        }
        if (t == JsonToken.VALUE_NUMBER_FLOAT) {
          throw new BadRecordException(
              DeadLetterReason.WRONG_TYPE,
              "'"
                  + name
                  + "' is "
                  + number(p.getText())
                  + "; expected an integer ("
                  + Types.format(type)
                  + ")");
        }
        break;
      case SCALAR_TYPE_FLOAT:
      case SCALAR_TYPE_DOUBLE:
        if (t == JsonToken.VALUE_NUMBER_INT || t == JsonToken.VALUE_NUMBER_FLOAT) {
          double d = p.getDoubleValue();
          if (Double.isInfinite(d)) {
            throw new BadRecordException(
                DeadLetterReason.OUT_OF_RANGE,
                "'" + name + "' is " + number(p.getText()) + ", out of range for double");
          }
          if (type == ScalarType.SCALAR_TYPE_FLOAT) {
            float f = (float) d;
            if (Float.isInfinite(f)) {
              throw new BadRecordException(
                  DeadLetterReason.OUT_OF_RANGE,
                  "'" + name + "' is " + number(p.getText()) + ", out of range for float");
            }
            return f;
          }
          return d;
        }
        break;
      case SCALAR_TYPE_STRING:
        if (t == JsonToken.VALUE_STRING) {
          return checkedString(p.getText(), name);
        }
        break;
      case SCALAR_TYPE_BYTES:
        if (t == JsonToken.VALUE_STRING) {
          try {
            return ByteString.copyFrom(Base64.getDecoder().decode(p.getText()));
          } catch (IllegalArgumentException e) {
            throw new BadRecordException(
                DeadLetterReason.BAD_BASE64,
                "'" + name + "' is not valid base64: " + Messages.clip(e.getMessage()));
          }
        }
        break;
      case SCALAR_TYPE_TIMESTAMP:
        if (t == JsonToken.VALUE_STRING) {
          return parseTimestamp(p.getText(), name);
        }
        if (t == JsonToken.VALUE_NUMBER_INT) {
          BigInteger v = p.getBigIntegerValue();
          if (v.bitLength() > 63 || !TimeRange.containsMillis(v.longValue())) {
            throw SourceRecords.outOfRange(name, number(v.toString()) + " epoch milliseconds");
          }
          return Instant.ofEpochMilli(v.longValue());
        }
        break;
      default:
        break;
    }
    throw wrongType(name, Types.of(type), t);
  }

  private static BadRecordException wrongType(String name, ValueType type, JsonToken t) {
    return new BadRecordException(
        DeadLetterReason.WRONG_TYPE,
        "'" + name + "' is " + describe(t) + "; expected " + Types.format(type));
  }

  private static String describe(JsonToken t) {
    return switch (t) {
      case START_OBJECT -> "an object";
      case START_ARRAY -> "a list";
      case VALUE_STRING -> "a string";
      case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
      case VALUE_TRUE, VALUE_FALSE -> "a boolean";
      case VALUE_NULL -> "null";
      default -> t.name();
    };
  }
}
