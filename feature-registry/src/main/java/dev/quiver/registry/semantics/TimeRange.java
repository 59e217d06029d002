package dev.quiver.registry.semantics;

import java.time.Instant;

/**
 * The times Quiver accepts: from 1678-01-01T00:00:00Z (inclusive) to 2262-01-01T00:00:00Z
 * (exclusive). Every reader of what Quiver writes agrees on this range: Parquet and Arrow
 * timestamps in nanoseconds (pandas, Spark), microseconds (DuckDB) and protobuf {@code Timestamp}
 * (years 1 to 9999). An event, created or timestamp-valued field outside it is a bad record ({@code
 * timestamp_out_of_range}), never stored, so no path has to think about overflow.
 *
 * <p>This is the one place the range is defined; every decoder and every reader of entity-table
 * times calls it.
 */
public final class TimeRange {
  /** The earliest accepted time. */
  public static final Instant MIN = Instant.parse("1678-01-01T00:00:00Z");

  /** The first time past the accepted range. */
  public static final Instant END = Instant.parse("2262-01-01T00:00:00Z");

  /** {@link #MIN} in epoch microseconds. */
  public static final long MIN_MICROS = MIN.getEpochSecond() * 1_000_000L;

  /** {@link #END} in epoch microseconds. */
  public static final long END_MICROS = END.getEpochSecond() * 1_000_000L;

  private TimeRange() {}

  /** Whether {@code t} lies in the accepted range. */
  public static boolean contains(Instant t) {
    return !t.isBefore(MIN) && t.isBefore(END);
  }

  /** Whether {@code epochMillis} lies in the accepted range. */
  public static boolean containsMillis(long epochMillis) {
    return epochMillis >= MIN_MICROS / 1000 && epochMillis < END_MICROS / 1000;
  }

  /** Whether {@code epochMicros} lies in the accepted range. */
  public static boolean containsMicros(long epochMicros) {
    return epochMicros >= MIN_MICROS && epochMicros < END_MICROS;
  }

  /** What the range is, for error messages. */
  public static String describe() {
    return "from " + MIN + " to before " + END;
  }
}
