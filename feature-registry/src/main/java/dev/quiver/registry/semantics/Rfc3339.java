package dev.quiver.registry.semantics;

import java.time.DateTimeException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How Quiver reads RFC 3339 timestamp text, in source records and entity tables alike: {@code
 * ISO_OFFSET_DATE_TIME}, plus leap seconds. A leap second ({@code 23:59:60} UTC, written with any
 * offset that makes it so, and any fraction) is read as the last microsecond of its minute, {@code
 * 23:59:59.999999}: after every other time of that minute and before the next day, which is where
 * it happened. Second 60 at any other time is refused. The range check is {@link TimeRange}'s,
 * applied by the callers.
 *
 * <p>Stateless and thread-safe.
 */
public final class Rfc3339 {
  private static final Pattern LEAP_SECOND =
      Pattern.compile("(.*[Tt][0-9]{2}:[0-9]{2}:)60((?:\\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2}))");

  private Rfc3339() {}

  /** Second 60 where no leap second can be: any time but 23:59 UTC. */
  public static final class NotALeapSecondException extends DateTimeException {
    private static final long serialVersionUID = 1L;

    NotALeapSecondException() {
      super("it has second 60, which only a leap second at 23:59:60 UTC has");
    }
  }

  /**
   * The instant {@code text} names, truncated to microseconds ({@link Micros#truncate}).
   *
   * @throws NotALeapSecondException for second 60 at any time but 23:59 UTC
   * @throws DateTimeException for text that is not an RFC 3339 timestamp
   */
  public static Instant parse(String text) {
    try {
      return Micros.truncate(
          OffsetDateTime.parse(text, DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant());
    } catch (DateTimeException e) {
      Matcher leap = LEAP_SECOND.matcher(text);
      if (!leap.matches()) {
        throw e;
      }
      Instant second59 =
          OffsetDateTime.parse(
                  leap.group(1) + "59" + leap.group(2), DateTimeFormatter.ISO_OFFSET_DATE_TIME)
              .toInstant();
      if (second59.atOffset(ZoneOffset.UTC).toLocalTime().toSecondOfDay() != 86_399) {
        throw new NotALeapSecondException();
      }
      return second59.plusNanos(999_999_000L - second59.getNano());
    }
  }
}
