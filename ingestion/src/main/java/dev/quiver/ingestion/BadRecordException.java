package dev.quiver.ingestion;

import java.util.Objects;

/** A record that cannot be ingested: why, in a reason code and a message naming the field. */
public final class BadRecordException extends Exception {
  private final DeadLetterReason reason;

  public BadRecordException(DeadLetterReason reason, String message) {
    super(message, null, false, false);
    this.reason = Objects.requireNonNull(reason, "reason");
  }

  public DeadLetterReason reason() {
    return reason;
  }
}
