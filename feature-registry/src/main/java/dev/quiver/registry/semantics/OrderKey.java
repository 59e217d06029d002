package dev.quiver.registry.semantics;

import java.util.Comparator;

/**
 * The order of rows of one entity in one view: {@code (event_ts, created_ts, partition, offset)}.
 * The row with the greatest key among those with {@code event_ts <= t} is the value at time t,
 * online and offline alike. A missing created timestamp sorts before any value.
 *
 * @param eventTimeMillis event time, epoch milliseconds
 * @param createdTimeMillis created time, epoch milliseconds, or {@link #NO_CREATED_TIME}
 * @param partition source partition
 * @param offset source offset
 */
public record OrderKey(long eventTimeMillis, long createdTimeMillis, int partition, long offset)
    implements Comparable<OrderKey> {

  /** The created time of rows whose source has none, or whose record left it null. */
  public static final long NO_CREATED_TIME = Long.MIN_VALUE;

  private static final Comparator<OrderKey> ORDER =
      Comparator.comparingLong(OrderKey::eventTimeMillis)
          .thenComparingLong(OrderKey::createdTimeMillis)
          .thenComparingInt(OrderKey::partition)
          .thenComparingLong(OrderKey::offset);

  @Override
  public int compareTo(OrderKey o) {
    return ORDER.compare(this, o);
  }

  public boolean isNewerThan(OrderKey o) {
    return compareTo(o) > 0;
  }
}
