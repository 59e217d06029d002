package dev.quiver.registry.semantics;

/**
 * The order of rows of one entity in one view: {@code (event_ts, created_ts, partition, offset)},
 * times in epoch microseconds ({@link Micros}). The row with the greatest key among those visible
 * at t ({@link AsOf#visible}) is the value at time t, online and offline alike. A missing created
 * timestamp sorts before any value.
 *
 * <p>{@link #compare(long, long, int, long, long, long, int, long)} is the one comparison; this
 * record and the offline engine's sorted rows both call it.
 *
 * @param eventTimeMicros event time, epoch microseconds
 * @param createdTimeMicros created time, epoch microseconds, or {@link #NO_CREATED_TIME}
 * @param partition source partition
 * @param offset source offset
 */
public record OrderKey(long eventTimeMicros, long createdTimeMicros, int partition, long offset)
    implements Comparable<OrderKey> {

  /** The created time of rows whose source has none, or whose record left it null. */
  public static final long NO_CREATED_TIME = Long.MIN_VALUE;

  /** The order of two rows given by their parts: negative, zero or positive. */
  public static int compare(
      long eventA,
      long createdA,
      int partitionA,
      long offsetA,
      long eventB,
      long createdB,
      int partitionB,
      long offsetB) {
    int c = Long.compare(eventA, eventB);
    if (c == 0) {
      c = Long.compare(createdA, createdB);
    }
    if (c == 0) {
      c = Integer.compare(partitionA, partitionB);
    }
    return c != 0 ? c : Long.compare(offsetA, offsetB);
  }

  @Override
  public int compareTo(OrderKey o) {
    return compare(
        eventTimeMicros,
        createdTimeMicros,
        partition,
        offset,
        o.eventTimeMicros,
        o.createdTimeMicros,
        o.partition,
        o.offset);
  }

  public boolean isNewerThan(OrderKey o) {
    return compareTo(o) > 0;
  }
}
