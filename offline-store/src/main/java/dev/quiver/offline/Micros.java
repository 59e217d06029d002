package dev.quiver.offline;

import java.time.Instant;

/** Timestamps as the offline store keeps them: epoch microseconds, UTC. */
public final class Micros {
  private Micros() {}

  /** Epoch microseconds of {@code i} (sub-microsecond digits dropped). */
  public static long of(Instant i) {
    return Math.addExact(Math.multiplyExact(i.getEpochSecond(), 1_000_000L), i.getNano() / 1000);
  }

  /** The instant of {@code micros} epoch microseconds. */
  public static Instant toInstant(long micros) {
    return Instant.ofEpochSecond(
        Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1000);
  }
}
