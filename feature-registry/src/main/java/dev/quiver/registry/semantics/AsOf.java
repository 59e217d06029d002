package dev.quiver.registry.semantics;

import java.time.Duration;

/**
 * What a row may contribute to an answer as of time t, online (t is the request time) and offline
 * (t is the entity row's time): the one place these rules live.
 *
 * <ul>
 *   <li>A row is <em>visible</em> at t when {@code event_ts <= t} (inclusive, as in Feast): no
 *       answer ever holds a value from the future of its t.
 *   <li>The latest value at t is the visible row with the greatest {@link OrderKey}.
 *   <li>That value is <em>usable</em> at t when {@code t - event_ts <= ttl}, or the view has no TTL
 *       (zero). Offline an unusable value is null; online it is unset with status {@code
 *       OUTSIDE_MAX_AGE}.
 * </ul>
 */
public final class AsOf {
  private AsOf() {}

  /** Whether a row stamped {@code eventMicros} may count in an answer as of {@code tMicros}. */
  public static boolean visible(long eventMicros, long tMicros) {
    return eventMicros <= tMicros;
  }

  /** A view's TTL in microseconds; zero for none. */
  public static long ttlMicros(Duration ttl) {
    return Micros.of(ttl);
  }

  /**
   * Whether a visible row stamped {@code eventMicros} is still usable at {@code tMicros} under a
   * TTL of {@code ttlMicros} (zero: no limit).
   */
  public static boolean usable(long eventMicros, long tMicros, long ttlMicros) {
    return ttlMicros == 0 || tMicros - eventMicros <= ttlMicros;
  }
}
