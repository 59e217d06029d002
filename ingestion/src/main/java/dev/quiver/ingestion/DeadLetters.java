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

  private DeadLetters() {}
}
