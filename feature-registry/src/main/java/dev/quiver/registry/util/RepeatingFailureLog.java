package dev.quiver.registry.util;

import java.time.Duration;
import java.util.Objects;
import java.util.function.LongSupplier;
import org.slf4j.Logger;

/**
 * Logs a failure that repeats — a full disk, a broker that is down, a flood of bad requests — once
 * with its stack trace, then at most once per interval as one line with the count of occurrences
 * since the last line, and once more when it clears. A failure every second for an hour gives a
 * handful of lines, not 3,600 stack traces.
 *
 * <p>Thread-safe: one instance may be shared by the threads that report the same kind of failure.
 */
public final class RepeatingFailureLog {
  private final Logger log;
  private final String what;
  private final long intervalNanos;
  private final LongSupplier nanoTime;

  // Volatile so that success(), called on every good request, costs one read while nothing fails.
  private volatile boolean failing;
  private long lastLogged;
  private long suppressed;
  private long total;
  private String lastMessage = "";

  /**
   * @param log where to write
   * @param what what is failing, e.g. {@code "source transactions: writing rows"}
   * @param interval the shortest time between two lines about the same failure
   */
  public RepeatingFailureLog(Logger log, String what, Duration interval) {
    this(log, what, interval, System::nanoTime);
  }

  RepeatingFailureLog(Logger log, String what, Duration interval, LongSupplier nanoTime) {
    this.log = Objects.requireNonNull(log, "log");
    this.what = Objects.requireNonNull(what, "what");
    this.intervalNanos = interval.toNanos();
    this.nanoTime = nanoTime;
  }

  /** Records one occurrence; logs it if it is the first, or if the interval has passed. */
  public synchronized void failure(String message, Throwable cause) {
    long now = nanoTime.getAsLong();
    total++;
    lastMessage = message;
    if (!failing) {
      failing = true;
      lastLogged = now;
      suppressed = 0;
      log.error("{}: {}", what, message, cause);
      return;
    }
    suppressed++;
    if (now - lastLogged >= intervalNanos) {
      log.error(
          "{}: still failing, {} more times in the last {} s: {}",
          what,
          suppressed,
          Duration.ofNanos(now - lastLogged).toSeconds(),
          message);
      lastLogged = now;
      suppressed = 0;
    }
  }

  /**
   * Records a success; logs that the failure cleared if it was failing. Takes no lock while nothing
   * is failing, so it may be called on every request of a hot path.
   */
  public void success() {
    if (!failing) {
      return;
    }
    synchronized (this) {
      if (failing) {
        failing = false;
        log.info("{}: recovered after {} failures", what, total);
        total = 0;
        suppressed = 0;
      }
    }
  }

  /** Whether the last report was a failure. */
  public boolean failing() {
    return failing;
  }

  /** The message of the last failure, or "" if none was reported since the last recovery. */
  public synchronized String lastMessage() {
    return failing ? lastMessage : "";
  }
}
