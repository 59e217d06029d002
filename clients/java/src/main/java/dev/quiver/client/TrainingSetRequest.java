package dev.quiver.client;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What a training-set export over Arrow Flight joins to an entity table: the features of a feature
 * service or a list of {@code view:feature} references, the entity table's timestamp column, and
 * how long the export may take.
 *
 * <pre>{@code
 * TrainingSetRequest.forService("fraud_model_v1").timestampColumn("ts").deadline(Duration.ofMinutes(30))
 * }</pre>
 *
 * <p>Immutable.
 */
public final class TrainingSetRequest {
  private final String service;
  private final List<String> features;
  private final String timestampColumn;
  private final Duration deadline;

  private TrainingSetRequest(
      String service, List<String> features, String timestampColumn, Duration deadline) {
    this.service = service;
    this.features = features;
    this.timestampColumn = timestampColumn;
    this.deadline = deadline;
  }

  /** The features of a feature service. */
  public static TrainingSetRequest forService(String service) {
    if (Objects.requireNonNull(service, "service").isEmpty()) {
      throw new IllegalArgumentException("service must not be empty");
    }
    return new TrainingSetRequest(service, null, "event_timestamp", null);
  }

  /** Features by reference: {@code view:feature}, or {@code view@N:feature} for a version. */
  public static TrainingSetRequest forFeatures(String... references) {
    return forFeatures(List.of(references));
  }

  /** Features by reference: {@code view:feature}, or {@code view@N:feature} for a version. */
  public static TrainingSetRequest forFeatures(List<String> references) {
    if (references.isEmpty()) {
      throw new IllegalArgumentException("give at least one feature reference");
    }
    return new TrainingSetRequest(null, List.copyOf(references), "event_timestamp", null);
  }

  /** The entity table's timestamp column. Default {@code event_timestamp}. */
  public TrainingSetRequest timestampColumn(String column) {
    if (Objects.requireNonNull(column, "column").isEmpty()) {
      throw new IllegalArgumentException("timestamp column must not be empty");
    }
    return new TrainingSetRequest(service, features, column, deadline);
  }

  /**
   * The longest the whole export (upload, join, download) may take. Default: no deadline, since an
   * export of a large table takes minutes; the client's lookup deadline does not apply.
   */
  public TrainingSetRequest deadline(Duration limit) {
    if (limit.isNegative() || limit.isZero()) {
      throw new IllegalArgumentException("deadline must be positive: " + limit);
    }
    return new TrainingSetRequest(service, features, timestampColumn, limit);
  }

  public String service() {
    return service;
  }

  public List<String> features() {
    return features;
  }

  public String timestampColumn() {
    return timestampColumn;
  }

  /** The deadline, or null for none. */
  public Duration deadline() {
    return deadline;
  }

  /** The Flight command: the JSON export request {@code quiver serve} expects. */
  byte[] command() {
    StringBuilder json = new StringBuilder("{");
    if (service != null) {
      json.append("\"service\":").append(quote(service));
    } else {
      json.append("\"features\":[");
      for (int i = 0; i < features.size(); i++) {
        json.append(i == 0 ? "" : ",").append(quote(features.get(i)));
      }
      json.append(']');
    }
    json.append(",\"timestamp_column\":").append(quote(timestampColumn)).append('}');
    return json.toString().getBytes(StandardCharsets.UTF_8);
  }

  private static String quote(String s) {
    StringBuilder out = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    return out.append('"').toString();
  }

  @Override
  public String toString() {
    return new String(command(), StandardCharsets.UTF_8);
  }
}
