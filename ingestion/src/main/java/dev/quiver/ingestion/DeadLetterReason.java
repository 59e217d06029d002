package dev.quiver.ingestion;

/** Why a record went to the dead-letter topic; the code is the {@code quiver.reason} header. */
public enum DeadLetterReason {
  /** The record has no value (a tombstone). */
  EMPTY_RECORD,
  /** The value is not valid JSON (or not UTF-8). */
  NOT_JSON,
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
  /** A timestamp is neither RFC 3339 nor epoch milliseconds, or is out of range. */
  BAD_TIMESTAMP,
  /** A field has a JSON type that does not fit its declared type. */
  WRONG_TYPE,
  /** A number does not fit its declared type (int32, int64, float). */
  OUT_OF_RANGE,
  /** A bytes field is not valid base64. */
  BAD_BASE64,
  /** A list holds a null or an element of the wrong type. */
  BAD_LIST_ELEMENT,
  /** A view's filter or feature expression failed on this record. */
  EXPRESSION_FAILED;

  /** The header value: lower case, e.g. {@code wrong_type}. */
  public String code() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
