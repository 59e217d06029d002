package dev.quiver.registry.semantics;

import com.google.protobuf.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * The one unit of time: microseconds since the epoch, UTC. Event, created and entity-table times,
 * timestamp-valued features, window and TTL arithmetic, the online store, Parquet files and the
 * wire all hold time in it. Finer input is truncated here, towards the past (the way {@link
 * Instant#truncatedTo} does, so 1969 and 2024 round alike), and only here: every decoder and every
 * writer of a {@code Timestamp} calls these methods, so no path can keep a digit another drops.
 */
public final class Micros {
  private Micros() {}

  /** Epoch microseconds of {@code i}, sub-microsecond digits dropped. */
  public static long of(Instant i) {
    return Math.addExact(Math.multiplyExact(i.getEpochSecond(), 1_000_000L), i.getNano() / 1000);
  }

  /** Epoch microseconds of a protobuf timestamp, sub-microsecond digits dropped. */
  public static long of(Timestamp t) {
    return Math.addExact(Math.multiplyExact(t.getSeconds(), 1_000_000L), t.getNanos() / 1000);
  }

  /** Epoch microseconds of {@code millis} epoch milliseconds. */
  public static long ofMillis(long millis) {
    return Math.multiplyExact(millis, 1000L);
  }

  /** A duration in microseconds, sub-microsecond digits dropped. */
  public static long of(Duration d) {
    return Math.addExact(Math.multiplyExact(d.getSeconds(), 1_000_000L), d.getNano() / 1000);
  }

  /** {@code i} with its sub-microsecond digits dropped: what every path keeps of an input time. */
  public static Instant truncate(Instant i) {
    return i.truncatedTo(ChronoUnit.MICROS);
  }

  /** The whole seconds of {@code micros} epoch microseconds, towards the past. */
  public static long epochSecond(long micros) {
    return Math.floorDiv(micros, 1_000_000L);
  }

  /** The nanoseconds past {@link #epochSecond} of {@code micros}: 0 to 999,999,000. */
  public static int nanoOfSecond(long micros) {
    return (int) (Math.floorMod(micros, 1_000_000L) * 1000);
  }

  /** The instant of {@code micros} epoch microseconds. */
  public static Instant toInstant(long micros) {
    return Instant.ofEpochSecond(epochSecond(micros), nanoOfSecond(micros));
  }

  /** The protobuf timestamp of {@code micros} epoch microseconds. */
  public static Timestamp timestamp(long micros) {
    return Timestamp.newBuilder()
        .setSeconds(epochSecond(micros))
        .setNanos(nanoOfSecond(micros))
        .build();
  }
}
