package dev.quiver.ingestion;

import dev.quiver.registry.semantics.FutureEvents;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * Settings of ingestion.
 *
 * @param bootstrapServers Kafka bootstrap servers
 * @param groupPrefix consumer groups are {@code <prefix>.<source>}; Kafka's group offsets are kept
 *     for monitoring lag only, the sinks' recorded positions decide where reading resumes
 * @param maxPollRecords records fetched per poll, and so the largest batch written at once
 * @param pollTimeout how long a poll waits for records
 * @param retryBackoff pause after a failed write before reading again from the recorded positions
 * @param memberId a stable name of this process (static group membership): a restarted process
 *     takes its partitions back at once instead of waiting for the group to notice the old one is
 *     gone; "" for dynamic membership
 * @param clientOverrides extra Kafka client settings, applied last
 * @param limits the largest values and rows ingestion stores
 * @param health how often each source's lag is measured and when an unreachable broker counts as a
 *     failure
 */
public record IngestionConfig(
    String bootstrapServers,
    String groupPrefix,
    int maxPollRecords,
    Duration pollTimeout,
    Duration retryBackoff,
    String memberId,
    Map<String, Object> clientOverrides,
    Limits limits,
    Health health,
    Future future) {

  /** 1 MiB: the default {@link Limits#maxValueBytes()}. */
  public static final int DEFAULT_MAX_VALUE_BYTES = 1 << 20;

  /** 4 MiB: the default {@link Limits#maxRowBytes()}. */
  public static final int DEFAULT_MAX_ROW_BYTES = 4 << 20;

  /**
   * The largest values ingestion stores. A record whose computed value or row is larger goes to the
   * dead-letter topic for that view ({@code value_too_large}); the record's other views keep their
   * rows.
   *
   * @param maxValueBytes the largest single value, {@code quiver serve --max-value-bytes}: a string
   *     (as UTF-8), bytes, or a list (the sum of its elements), a join key included
   * @param maxRowBytes the largest view row, {@code quiver serve --max-row-bytes}: its join key,
   *     feature and aggregation-input values together
   */
  public record Limits(int maxValueBytes, int maxRowBytes) {
    public Limits {
      if (maxValueBytes < 1) {
        throw new IllegalArgumentException("--max-value-bytes must be positive: " + maxValueBytes);
      }
      if (maxRowBytes < maxValueBytes) {
        throw new IllegalArgumentException(
            "--max-row-bytes ("
                + maxRowBytes
                + ") must be at least --max-value-bytes ("
                + maxValueBytes
                + ")");
      }
    }

    /** 1 MiB per value, 4 MiB per row. */
    public static Limits defaults() {
      return new Limits(DEFAULT_MAX_VALUE_BYTES, DEFAULT_MAX_ROW_BYTES);
    }
  }

  /**
   * How ingestion health is measured.
   *
   * @param checkInterval how often the ingest thread asks the broker for the log-end offsets of its
   *     partitions, and so how fresh the reported lag is
   * @param unreachableAfter how long the broker may stay unanswered (or the ingest thread stay
   *     without a successful check) before the source counts as failing
   * @param failureLogInterval the shortest time between two log lines about the same repeating
   *     failure
   */
  public record Health(
      Duration checkInterval, Duration unreachableAfter, Duration failureLogInterval) {
    public Health {
      requirePositive(checkInterval, "checkInterval");
      requirePositive(unreachableAfter, "unreachableAfter");
      requirePositive(failureLogInterval, "failureLogInterval");
    }

    /** Lag measured every 5 s; failing after 10 s without the broker; a log line per minute. */
    public static Health defaults() {
      return new Health(Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofMinutes(1));
    }

    private static void requirePositive(Duration d, String name) {
      Objects.requireNonNull(d, name);
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(name + " must be positive: " + d);
      }
    }
  }

  /**
   * The clock ingestion measures event times against, and how far ahead of it an event may be
   * ({@link FutureEvents}): {@code quiver serve --max-future}. Serving answers as of the same
   * clock.
   */
  public record Future(Clock clock, FutureEvents policy) {
    public Future {
      Objects.requireNonNull(clock, "clock");
      Objects.requireNonNull(policy, "policy");
    }

    /** The system clock, events up to {@link FutureEvents#DEFAULT_MAX_FUTURE} ahead. */
    public static Future defaults() {
      return new Future(Clock.systemUTC(), FutureEvents.defaults());
    }
  }

  public IngestionConfig {
    Objects.requireNonNull(bootstrapServers, "bootstrapServers");
    Objects.requireNonNull(groupPrefix, "groupPrefix");
    if (maxPollRecords < 1) {
      throw new IllegalArgumentException("maxPollRecords must be positive: " + maxPollRecords);
    }
    Objects.requireNonNull(memberId, "memberId");
    clientOverrides = Map.copyOf(clientOverrides);
    Objects.requireNonNull(limits, "limits");
    Objects.requireNonNull(health, "health");
    Objects.requireNonNull(future, "future");
  }

  /** The given settings with the default {@link Limits} and {@link Health}. */
  public IngestionConfig(
      String bootstrapServers,
      String groupPrefix,
      int maxPollRecords,
      Duration pollTimeout,
      Duration retryBackoff,
      String memberId,
      Map<String, Object> clientOverrides) {
    this(
        bootstrapServers,
        groupPrefix,
        maxPollRecords,
        pollTimeout,
        retryBackoff,
        memberId,
        clientOverrides,
        Limits.defaults(),
        Health.defaults(),
        Future.defaults());
  }

  /** The same settings with a stable member id. */
  public IngestionConfig withMemberId(String id) {
    return new IngestionConfig(
        bootstrapServers,
        groupPrefix,
        maxPollRecords,
        pollTimeout,
        retryBackoff,
        id,
        clientOverrides,
        limits,
        health,
        future);
  }

  /** The same settings with other value limits. */
  public IngestionConfig withLimits(Limits l) {
    return new IngestionConfig(
        bootstrapServers,
        groupPrefix,
        maxPollRecords,
        pollTimeout,
        retryBackoff,
        memberId,
        clientOverrides,
        l,
        health,
        future);
  }

  /** The same settings with other health measurement. */
  public IngestionConfig withHealth(Health h) {
    return new IngestionConfig(
        bootstrapServers,
        groupPrefix,
        maxPollRecords,
        pollTimeout,
        retryBackoff,
        memberId,
        clientOverrides,
        limits,
        h,
        future);
  }

  /** The same settings with {@code overrides} added to the Kafka client settings. */
  public IngestionConfig withClientOverrides(Map<String, Object> overrides) {
    Map<String, Object> all = new java.util.HashMap<>(clientOverrides);
    all.putAll(overrides);
    return new IngestionConfig(
        bootstrapServers,
        groupPrefix,
        maxPollRecords,
        pollTimeout,
        retryBackoff,
        memberId,
        all,
        limits,
        health,
        future);
  }

  /** The same settings with another clock or future-event policy. */
  public IngestionConfig withFuture(Future f) {
    return new IngestionConfig(
        bootstrapServers,
        groupPrefix,
        maxPollRecords,
        pollTimeout,
        retryBackoff,
        memberId,
        clientOverrides,
        limits,
        health,
        f);
  }

  /**
   * Defaults: 2000 records per poll, 200 ms polls, 1 s back-off, dynamic membership, the default
   * {@link Limits} and {@link Health}.
   */
  public static IngestionConfig defaults(String bootstrapServers, String project) {
    return new IngestionConfig(
        bootstrapServers,
        "quiver." + project,
        2000,
        Duration.ofMillis(200),
        Duration.ofSeconds(1),
        "",
        Map.of());
  }
}
