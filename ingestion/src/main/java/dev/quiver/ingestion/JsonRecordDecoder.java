package dev.quiver.ingestion;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.google.protobuf.ByteString;
import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.Source;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.Types;
import dev.quiver.registry.rows.OrderKey;
import java.io.IOException;
import java.math.BigInteger;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Decodes JSON records of one source against its schema. Fields not in the schema are ignored;
 * declared fields may be absent or null except the join keys and the event timestamp. Numbers must
 * fit their declared type exactly (an int32 field rejects 2^31 and 1.5); timestamps are RFC 3339
 * strings or epoch milliseconds; bytes are base64.
 *
 * <p>Java forms: bool Boolean, int32 Integer, int64 Long, float Float, double Double, string
 * String, bytes ByteString, timestamp Instant, list&lt;T&gt; an immutable List.
 *
 * <p>Thread-safe.
 */
public final class JsonRecordDecoder {
  private static final JsonFactory JSON =
      JsonFactory.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
  private static final BigInteger LONG_MIN = BigInteger.valueOf(Long.MIN_VALUE);
  private static final BigInteger LONG_MAX = BigInteger.valueOf(Long.MAX_VALUE);

  /** 9999-12-31T23:59:59.999Z: timestamps beyond are taken for unit mistakes (micros, nanos). */
  private static final long MAX_EPOCH_MILLIS = 253_402_300_799_999L;

  private final Map<String, ValueType> schema = new HashMap<>();
  private final String eventField;
  private final String createdField;
  private final Set<String> requiredKeys;

  /**
   * @param source the source
   * @param joinKeys fields that must be present and non-null: the join keys of the source's views
   */
  public JsonRecordDecoder(Source source, Set<String> joinKeys) {
    for (Field f : source.getSchemaList()) {
      schema.put(f.getName(), f.getType());
    }
    this.eventField = source.getEventTimestampField();
    this.createdField = source.getCreatedTimestampField();
    this.requiredKeys = Set.copyOf(joinKeys);
  }

  public DecodedRecord decode(byte[] value) throws BadRecordException {
    if (value == null) {
      throw new BadRecordException(DeadLetterReason.EMPTY_RECORD, "record has no value");
    }
    Map<String, Object> fields = new HashMap<>();
    java.util.Set<String> nulls = new java.util.HashSet<>();
    try (JsonParser p = JSON.createParser(value)) {
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
    } catch (JsonParseException e) {
      String m = e.getOriginalMessage();
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
      throw new BadRecordException(DeadLetterReason.NOT_JSON, "not valid JSON: " + e.getMessage());
    }
    for (String key : requiredKeys) {
      if (nulls.contains(key)) {
        throw new BadRecordException(
            DeadLetterReason.NULL_JOIN_KEY, "join key '" + key + "' is null");
      }
      if (!fields.containsKey(key)) {
        throw new BadRecordException(
            DeadLetterReason.MISSING_JOIN_KEY, "join key '" + key + "' is missing");
      }
    }
    Object event = fields.get(eventField);
    if (event == null) {
      throw new BadRecordException(
          DeadLetterReason.MISSING_EVENT_TIMESTAMP,
          "event timestamp '" + eventField + "' is missing or null");
    }
    long eventMillis = millis(event);
    long createdMillis =
        createdField.isEmpty() || fields.get(createdField) == null
            ? OrderKey.NO_CREATED_TIME
            : millis(fields.get(createdField));
    return new DecodedRecord(fields, eventMillis, createdMillis);
  }

  private static long millis(Object timestamp) throws BadRecordException {
    if (timestamp instanceof Long l) {
      return l;
    }
    try {
      return ((Instant) timestamp).toEpochMilli();
    } catch (ArithmeticException e) {
      throw new BadRecordException(
          DeadLetterReason.BAD_TIMESTAMP, "timestamp " + timestamp + " is out of range");
    }
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
                "'" + name + "' is " + v + ", out of range for " + Types.format(type));
          }
          return int32 ? (Object) v.intValue() : (Object) v.longValue();
        }
        if (t == JsonToken.VALUE_NUMBER_FLOAT) {
          throw new BadRecordException(
              DeadLetterReason.WRONG_TYPE,
              "'"
                  + name
                  + "' is "
                  + p.getText()
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
                "'" + name + "' is " + p.getText() + ", out of range for double");
          }
          if (type == ScalarType.SCALAR_TYPE_FLOAT) {
            float f = (float) d;
            if (Float.isInfinite(f)) {
              throw new BadRecordException(
                  DeadLetterReason.OUT_OF_RANGE,
                  "'" + name + "' is " + p.getText() + ", out of range for float");
            }
            return f;
          }
          return d;
        }
        break;
      case SCALAR_TYPE_STRING:
        if (t == JsonToken.VALUE_STRING) {
          return p.getText();
        }
        break;
      case SCALAR_TYPE_BYTES:
        if (t == JsonToken.VALUE_STRING) {
          try {
            return ByteString.copyFrom(Base64.getDecoder().decode(p.getText()));
          } catch (IllegalArgumentException e) {
            throw new BadRecordException(
                DeadLetterReason.BAD_BASE64,
                "'" + name + "' is not valid base64: " + e.getMessage());
          }
        }
        break;
      case SCALAR_TYPE_TIMESTAMP:
        if (t == JsonToken.VALUE_STRING) {
          try {
            return OffsetDateTime.parse(p.getText(), DateTimeFormatter.ISO_OFFSET_DATE_TIME)
                .toInstant();
          } catch (DateTimeException e) {
            throw new BadRecordException(
                DeadLetterReason.BAD_TIMESTAMP,
                "'"
                    + name
                    + "' is '"
                    + p.getText()
                    + "'; expected an RFC 3339 timestamp such as 2026-01-31T12:00:00Z, or epoch milliseconds");
          }
        }
        if (t == JsonToken.VALUE_NUMBER_INT) {
          BigInteger v = p.getBigIntegerValue();
          if (v.bitLength() > 63 || Math.abs(v.longValue()) > MAX_EPOCH_MILLIS) {
            throw new BadRecordException(
                DeadLetterReason.BAD_TIMESTAMP,
                "'" + name + "' is " + v + " epoch milliseconds, out of range");
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
