package dev.quiver.online;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Bounds the lookup work in flight, counted in entity rows. A lookup that would pass the bound is
 * refused at once rather than queued: under overload the server answers the excess quickly with
 * {@code RESOURCE_EXHAUSTED}, keeps its memory flat, and the lookups it admitted keep their
 * latency.
 *
 * <p>Thread-safe.
 */
public final class LookupAdmission {
  private final int limit;
  private final AtomicInteger inFlight = new AtomicInteger();

  /**
   * @param limit the most entity rows of lookups in flight at once
   */
  public LookupAdmission(int limit) {
    if (limit < 1) {
      throw new IllegalArgumentException("the in-flight limit must be positive: " + limit);
    }
    this.limit = limit;
  }

  /** Admits {@code rows} more entity rows if the bound allows; false, and nothing held, if not. */
  public boolean tryAcquire(int rows) {
    while (true) {
      int now = inFlight.get();
      if (now + rows > limit || now + rows < 0) {
        return false;
      }
      if (inFlight.compareAndSet(now, now + rows)) {
        return true;
      }
    }
  }

  /** Gives back rows admitted by {@link #tryAcquire}. */
  public void release(int rows) {
    inFlight.addAndGet(-rows);
  }

  /** Entity rows of the lookups running now. */
  public int inFlight() {
    return inFlight.get();
  }

  public int limit() {
    return limit;
  }
}
