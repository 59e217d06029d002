package dev.quiver.offline.export;

import dev.quiver.registry.semantics.Micros;
import dev.quiver.registry.semantics.Rfc3339;
import dev.quiver.registry.semantics.TimeRange;
import dev.quiver.registry.util.Messages;
import java.time.DateTimeException;
import java.time.Instant;
import java.util.regex.Pattern;

/**
 * An entity table's timestamps as epoch microseconds, from every form a table may hold them in: RFC
 * 3339 text, epoch milliseconds, or a timestamp of any unit. Every form is checked against {@link
 * TimeRange}; a time outside it is refused rather than wrapped around.
 *
 * <p>RFC 3339 text, leap seconds included, is read by {@link Rfc3339}, as source records are.
 *
 * <p>Each method throws an {@link IllegalArgumentException} whose message says what is wrong with
 * the value; the caller prefixes where it is (file, row, column). Stateless and thread-safe.
 */
final class EntityTimes {
  private static final Pattern EPOCH_MILLIS = Pattern.compile("-?[0-9]{1,19}");

  private EntityTimes() {}

  /** Epoch microseconds of RFC 3339 text or of epoch milliseconds written as an integer. */
  static long ofText(String text) {
    if (EPOCH_MILLIS.matcher(text).matches()) {
      long millis;
      try {
        millis = Long.parseLong(text);
      } catch (NumberFormatException e) {
        throw outOfRange(Messages.quote(text) + " (epoch milliseconds)");
      }
      return ofMillis(millis);
    }
    Instant instant;
    try {
      instant = Rfc3339.parse(text);
    } catch (Rfc3339.NotALeapSecondException e) {
      throw new IllegalArgumentException(
          "timestamp " + Messages.quote(text) + ": " + e.getMessage());
    } catch (DateTimeException e) {
      throw new IllegalArgumentException(
          "timestamp "
              + Messages.quote(text)
              + " is neither RFC 3339 (such as 2026-03-01T12:00:00Z) nor epoch milliseconds");
    }
    return ofInstant(instant);
  }

  /** Epoch microseconds of epoch milliseconds. */
  static long ofMillis(long millis) {
    if (!TimeRange.containsMillis(millis)) {
      throw outOfRange(millis + " (epoch milliseconds)");
    }
    return millis * 1000L;
  }

  /** Epoch microseconds of epoch microseconds, checked. */
  static long ofMicros(long micros) {
    if (!TimeRange.containsMicros(micros)) {
      throw outOfRange(micros + " (epoch microseconds)");
    }
    return micros;
  }

  /** Epoch microseconds of an instant. */
  static long ofInstant(Instant instant) {
    if (!TimeRange.contains(instant)) {
      throw outOfRange(Messages.quote(instant.toString()));
    }
    return Micros.of(instant);
  }

  /** Epoch microseconds of a count of {@code unitMicros}-microsecond units (seconds, days). */
  static long ofUnits(long count, long unitMicros) {
    long micros;
    try {
      micros = Math.multiplyExact(count, unitMicros);
    } catch (ArithmeticException e) {
      throw outOfRange(count + " (" + unitMicros + " µs units)");
    }
    return ofMicros(micros);
  }

  private static IllegalArgumentException outOfRange(String value) {
    return new IllegalArgumentException(
        "timestamp " + value + " is outside the accepted range, " + TimeRange.describe());
  }
}
