package dev.quiver.ingestion;

import dev.quiver.registry.rows.SourcePartition;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * How ingestion of one source is doing, for health checks and monitoring.
 *
 * <p>A source is failing while applying its records fails (a sink's write throws, a dead letter is
 * not delivered), while the broker has not answered for longer than {@link
 * IngestionConfig.Health#unreachableAfter()} (nor the ingest thread managed a check in that time),
 * or after its ingest thread stopped. Lag is measured on the ingest thread every {@link
 * IngestionConfig.Health#checkInterval()} as the log-end offset (the last stable offset: only
 * committed records count) minus the next offset every sink and view has applied.
 *
 * @param failing whether the source is failing now
 * @param reason why it is failing; "" when it is not
 * @param since when the current state (failing, or healthy) began
 * @param lag records behind the log end, per partition this process ingests, as of {@code
 *     measuredAt}; empty before the first measurement
 * @param measuredAt when the lag was last measured, or null if never
 */
public record SourceHealth(
    boolean failing,
    String reason,
    Instant since,
    Map<SourcePartition, Long> lag,
    Instant measuredAt) {
  public SourceHealth {
    Objects.requireNonNull(reason, "reason");
    Objects.requireNonNull(since, "since");
    lag = Map.copyOf(lag);
  }

  /** The records behind the log end over every partition this process ingests. */
  public long totalLag() {
    return lag.values().stream().mapToLong(Long::longValue).sum();
  }

  /** Whether the source is not failing and at most {@code maxLag} records behind in total. */
  public boolean healthy(long maxLag) {
    return !failing && totalLag() <= maxLag;
  }
}
