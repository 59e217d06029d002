package dev.quiver.registry.semantics;

import java.time.Duration;

/**
 * The policy for events stamped after the clock that ingests them. An event at most {@code
 * max_future} ahead is kept: the offline store holds it at once, and online it stays apart from the
 * served rows and tiles until the clock reaches its time, so an answer as of t counts it exactly
 * when an export as of t does ({@link AsOf#visible}). An event further ahead is refused: it goes to
 * the source's dead-letter topic with reason {@code future_timestamp} and neither store holds it —
 * most often it is a clock or unit mistake (seconds read as milliseconds) that would otherwise win
 * every newer-wins comparison until its time came.
 */
public final class FutureEvents {
  /** The default of {@code max_future}. */
  public static final Duration DEFAULT_MAX_FUTURE = Duration.ofMinutes(5);

  private final long maxFutureMicros;

  private FutureEvents(long maxFutureMicros) {
    this.maxFutureMicros = maxFutureMicros;
  }

  /** The policy that refuses events more than {@code maxFuture} ahead of the clock. */
  public static FutureEvents allowing(Duration maxFuture) {
    if (maxFuture.isNegative()) {
      throw new IllegalArgumentException("max_future must not be negative: " + maxFuture);
    }
    return new FutureEvents(Micros.of(maxFuture));
  }

  public static FutureEvents defaults() {
    return allowing(DEFAULT_MAX_FUTURE);
  }

  /** How far ahead of the clock an event may be, in microseconds. */
  public long maxFutureMicros() {
    return maxFutureMicros;
  }

  /** Whether an event stamped {@code eventMicros} is refused by a clock at {@code clockMicros}. */
  public boolean refuses(long eventMicros, long clockMicros) {
    return eventMicros - clockMicros > maxFutureMicros;
  }

  /**
   * Whether a kept event stamped {@code eventMicros} is still ahead of a clock at {@code
   * clockMicros}, so the online store holds it apart until the clock reaches it.
   */
  public static boolean ahead(long eventMicros, long clockMicros) {
    return !AsOf.visible(eventMicros, clockMicros);
  }
}
