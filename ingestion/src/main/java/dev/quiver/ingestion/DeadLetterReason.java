package dev.quiver.ingestion;

/** Why a record went to the dead-letter topic; the code is the {@code quiver.reason} header. */
public enum DeadLetterReason {
  /** The record has no value (a tombstone). */
  EMPTY_RECORD,
  /** The value of a JSON source is not valid JSON, or is not UTF-8 text at all. */
  NOT_JSON,
  /**
   * The JSON is deeper, or holds a longer number or string, than the decoder reads: the message
   * names the limit.
   */
  JSON_LIMIT_EXCEEDED,
  /** The value is JSON but not an object. */
  NOT_AN_OBJECT,
  /** A field appears twice in the object. */
  DUPLICATE_FIELD,
  /** A join key is absent. */
  MISSING_JOIN_KEY,
  /** A join key is null. */
  NULL_JOIN_KEY,
  /** The event timestamp is absent or null. */
  MISSING_EVENT_TIMESTAMP,
  /** A timestamp is neither an RFC 3339 string nor an integer of epoch milliseconds. */
  BAD_TIMESTAMP,
  /**
   * An event, created or timestamp-valued field lies outside {@link
   * dev.quiver.registry.semantics.TimeRange}.
   */
  TIMESTAMP_OUT_OF_RANGE,
  /**
   * The event timestamp is further ahead of the ingesting clock than {@code max_future} allows
   * ({@link dev.quiver.registry.semantics.FutureEvents}); the message names both times.
   */
  FUTURE_TIMESTAMP,
  /**
   * A string is not valid Unicode: invalid UTF-8 bytes inside a JSON object, or a lone UTF-16
   * surrogate (a {@code \\udc00} escape not forming a pair).
   */
  INVALID_STRING,
  /**
   * A field has a JSON type that does not fit its declared type, or a value its Avro or Protobuf
   * schema cannot hold (when producing).
   */
  WRONG_TYPE,
  /**
   * A number does not fit its declared type (int32, int64, float; a Protobuf uint32 past 2^31-1, an
   * enum number the enum lacks).
   */
  OUT_OF_RANGE,
  /** A bytes field is not valid base64. */
  BAD_BASE64,
  /** A list holds a null or an element of the wrong type. */
  BAD_LIST_ELEMENT,
  /**
   * An Avro or Protobuf value that cannot be read with its schema: truncated, trailing bytes, a bad
   * union branch or length, a malformed message-index list. The message says what the reader met.
   */
  UNDECODABLE_PAYLOAD,
  /**
   * A source with {@code wire_format: schema_registry} got a value that does not start with the
   * schema-registry header's 0 byte (or is shorter than the 5-byte header).
   */
  MISSING_MAGIC_BYTE,
  /** The schema-registry header names a schema id the source's {@code writer_schemas} lack. */
  UNKNOWN_SCHEMA_ID,
  /**
   * The writer schema the header's id (and for Protobuf, message indexes) names cannot be read with
   * the source's reader schema; the message gives the reason, per field.
   */
  INCOMPATIBLE_WRITER_SCHEMA,
  /** A view's filter or feature expression failed on this record. */
  EXPRESSION_FAILED,
  /**
   * A view's value or row is larger than ingestion stores ({@code quiver serve --max-value-bytes},
   * {@code --max-row-bytes}); the message names the feature, its size and the limit.
   */
  VALUE_TOO_LARGE,
  /** Processing the record failed in a way no rule describes: a defect, reported not retried. */
  INTERNAL_ERROR;

  /** The header value: lower case, e.g. {@code wrong_type}. */
  public String code() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
