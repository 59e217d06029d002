package dev.quiver.registry.formats;

import java.util.Objects;

/**
 * A value of a record that does not fit its declared type, found while converting between a
 * source's declared fields and its Avro or Protobuf form. Ingestion turns each kind into a
 * dead-letter reason; {@code quiver produce} names the line.
 */
public final class ValueException extends Exception {
  private static final long serialVersionUID = 1L;

  /** What is wrong, by what the record's producer has to fix. */
  public enum Kind {
    /** A number does not fit the declared type (a uint32 past 2^31-1 for an int32 field). */
    OUT_OF_RANGE,
    /** A timestamp lies outside {@link dev.quiver.registry.semantics.TimeRange}. */
    TIMESTAMP_OUT_OF_RANGE,
    /** A string is not valid UTF-8 (or holds a lone surrogate). */
    INVALID_STRING,
    /** A list holds a null. */
    BAD_LIST_ELEMENT,
    /** The value cannot be written in the schema's type (an enum symbol the enum lacks). */
    WRONG_TYPE
  }

  private final Kind kind;
  private final String field;
  private final String value;

  /**
   * @param kind what is wrong
   * @param field the field, with the list index where there is one ({@code scores[2]})
   * @param value the value as the message shows it (for timestamps: what was read)
   * @param message the whole message, naming the field
   */
  public ValueException(Kind kind, String field, String value, String message) {
    super(message, null, false, false);
    this.kind = Objects.requireNonNull(kind, "kind");
    this.field = field;
    this.value = value;
  }

  public Kind kind() {
    return kind;
  }

  /** The field the value belongs to. */
  public String field() {
    return field;
  }

  /** The offending value as text. */
  public String value() {
    return value;
  }
}
