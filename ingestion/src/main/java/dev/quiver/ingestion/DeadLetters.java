package dev.quiver.ingestion;

/** Headers Quiver puts on every dead-letter record, beside the original key and value bytes. */
public final class DeadLetters {
  /** The {@link DeadLetterReason} code, e.g. {@code wrong_type}. */
  public static final String REASON = "quiver.reason";

  /** What was wrong, naming the field or the view and feature. */
  public static final String ERROR = "quiver.error";

  /** The source name. */
  public static final String SOURCE = "quiver.source";

  /** Topic, partition and offset of the original record. */
  public static final String TOPIC = "quiver.topic";

  public static final String PARTITION = "quiver.partition";
  public static final String OFFSET = "quiver.offset";

  /** For expression failures: the view version, {@code name@version}. */
  public static final String VIEW = "quiver.view";

  /**
   * Present when the dead letter's value is cut to fit the dead-letter topic's {@code
   * max.message.bytes}: the original value's size in bytes. The whole record stays in the source
   * topic at {@link #TOPIC}, {@link #PARTITION} and {@link #OFFSET}.
   */
  public static final String VALUE_TRUNCATED = "quiver.value_truncated";

  /** As {@link #VALUE_TRUNCATED}, for a record key that had to be cut: its original size. */
  public static final String KEY_TRUNCATED = "quiver.key_truncated";

  /**
   * Present when the original record's headers are left out to make the dead letter fit: their
   * number and total size, {@code count,bytes}.
   */
  public static final String HEADERS_DROPPED = "quiver.headers_dropped";

  private DeadLetters() {}
}
