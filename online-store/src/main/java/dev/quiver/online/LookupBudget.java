package dev.quiver.online;

import java.util.function.BooleanSupplier;

/**
 * What one lookup may spend: the bytes it reads from the store and the bytes of its response, and
 * whether its caller still waits for it. The store calls {@link #spend} as it reads and {@link
 * #checkpoint} between reads, so a lookup over its budget, or whose caller has gone, stops before
 * it spends more memory, on the heap or off it.
 *
 * <p>Not thread-safe: one budget per lookup, used by the thread running it.
 */
public final class LookupBudget {
  /** The lookup needs more bytes than its budget allows. */
  public static final class ExceededException extends RuntimeException {
    private final long needed;
    private final long limit;

    ExceededException(long needed, long limit) {
      super(
          "the lookup needs more than "
              + limit
              + " bytes (read from the store or sent in the response): at least "
              + needed,
          null,
          false,
          false);
      this.needed = needed;
      this.limit = limit;
    }

    /** The bytes spent or asked for when the budget ran out: a lower bound of what was needed. */
    public long needed() {
      return needed;
    }

    public long limit() {
      return limit;
    }
  }

  /** The caller no longer waits for the lookup: its deadline passed, or it cancelled. */
  public static final class CancelledException extends RuntimeException {
    CancelledException() {
      super("the caller cancelled the lookup or its deadline passed", null, false, false);
    }
  }

  private static final BooleanSupplier NEVER = () -> false;

  private final long maxBytes;
  private final BooleanSupplier cancelled;
  private long spent;

  /**
   * @param maxBytes the most bytes the lookup may read and send
   * @param cancelled whether the caller has gone; asked at each {@link #checkpoint}
   */
  public LookupBudget(long maxBytes, BooleanSupplier cancelled) {
    if (maxBytes < 1) {
      throw new IllegalArgumentException("a lookup budget must be positive: " + maxBytes);
    }
    this.maxBytes = maxBytes;
    this.cancelled = cancelled;
  }

  /** No limit and never cancelled: for callers inside the process. */
  public static LookupBudget unlimited() {
    return new LookupBudget(Long.MAX_VALUE, NEVER);
  }

  /** Counts {@code bytes} against the budget; throws once the total passes it. */
  public void spend(long bytes) {
    spent += bytes;
    if (spent > maxBytes || spent < 0) {
      throw new ExceededException(spent < 0 ? Long.MAX_VALUE : spent, maxBytes);
    }
  }

  /** Throws if the caller no longer waits for the lookup. */
  public void checkpoint() {
    if (cancelled.getAsBoolean()) {
      throw new CancelledException();
    }
  }

  /** The bytes counted so far. */
  public long spent() {
    return spent;
  }

  public long maxBytes() {
    return maxBytes;
  }
}
