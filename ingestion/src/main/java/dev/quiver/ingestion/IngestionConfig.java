package dev.quiver.ingestion;

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
 */
public record IngestionConfig(
    String bootstrapServers,
    String groupPrefix,
    int maxPollRecords,
    Duration pollTimeout,
    Duration retryBackoff,
    String memberId,
    Map<String, Object> clientOverrides) {

  public IngestionConfig {
    Objects.requireNonNull(bootstrapServers, "bootstrapServers");
    Objects.requireNonNull(groupPrefix, "groupPrefix");
    if (maxPollRecords < 1) {
      throw new IllegalArgumentException("maxPollRecords must be positive: " + maxPollRecords);
    }
    Objects.requireNonNull(memberId, "memberId");
    clientOverrides = Map.copyOf(clientOverrides);
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
        clientOverrides);
  }

  /** Defaults: 2000 records per poll, 200 ms polls, 1 s back-off, dynamic membership. */
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
