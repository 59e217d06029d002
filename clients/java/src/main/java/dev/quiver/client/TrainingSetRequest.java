package dev.quiver.client;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What a training-set export over Arrow Flight joins to an entity table: the features of a feature
 * service or a list of {@code view:feature} references, the entity table's timestamp column, how
 * long the export may take and, for a service, the name of the drift baseline the server records
 * from the training set (by default the export's time; {@link #noBaseline()} records none).
 *
 * <pre>{@code
 * TrainingSetRequest.forService("fraud_model_v1").timestampColumn("ts").deadline(Duration.ofMinutes(30))
 * TrainingSetRequest.forService("fraud_model_v1").baseline("train-2026-12")
 * }</pre>
 *
 * <p>Immutable.
 */
public final class TrainingSetRequest {
  private final String service;
  private final List<String> features;
  private final String timestampColumn;
  private final Duration deadline;
  private final String baseline;
  private final boolean recordBaseline;
  private final boolean refusePastWatermark;

  private TrainingSetRequest(
      String service,
      List<String> features,
      String timestampColumn,
      Duration deadline,
      String baseline,
      boolean recordBaseline,
      boolean refusePastWatermark) {
    this.service = service;
    this.features = features;
    this.timestampColumn = timestampColumn;
    this.deadline = deadline;
    this.baseline = baseline;
    this.recordBaseline = recordBaseline;
    this.refusePastWatermark = refusePastWatermark;
  }

  /** The features of a feature service. */
  public static TrainingSetRequest forService(String service) {
    if (Objects.requireNonNull(service, "service").isEmpty()) {
      throw new IllegalArgumentException("service must not be empty");
    }
    return new TrainingSetRequest(service, null, "event_timestamp", null, null, true, false);
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
    return new TrainingSetRequest(
        null, List.copyOf(references), "event_timestamp", null, null, true, false);
  }

  /** The entity table's timestamp column. Default {@code event_timestamp}. */
  public TrainingSetRequest timestampColumn(String column) {
    if (Objects.requireNonNull(column, "column").isEmpty()) {
      throw new IllegalArgumentException("timestamp column must not be empty");
    }
    return new TrainingSetRequest(
        service, features, column, deadline, baseline, recordBaseline, refusePastWatermark);
  }

  /**
   * The longest the whole export (upload, join, download) may take. Default: no deadline, since an
   * export of a large table takes minutes; the client's lookup deadline does not apply.
   */
  public TrainingSetRequest deadline(Duration limit) {
    if (limit.isNegative() || limit.isZero()) {
      throw new IllegalArgumentException("deadline must be positive: " + limit);
    }
    return new TrainingSetRequest(
        service, features, timestampColumn, limit, baseline, recordBaseline, refusePastWatermark);
  }

  /**
   * The name the server records the training set's profile under, as a drift baseline of the
   * service. Default: the export's time, such as {@code 2026-12-02T02-30-00Z}. The server refuses
   * (with {@code INVALID_ARGUMENT}) a name that is not letters, digits, '.', '_' or '-', and a
   * server that records no baselines refuses any name.
   *
   * @throws IllegalStateException for a request of features rather than a service: only services
   *     have baselines
   */
  public TrainingSetRequest baseline(String name) {
    if (Objects.requireNonNull(name, "name").isEmpty()) {
      throw new IllegalArgumentException("baseline name must not be empty");
    }
    if (service == null) {
      throw new IllegalStateException(
          "only an export of a feature service records a baseline; this request names features");
    }
    return new TrainingSetRequest(
        service, features, timestampColumn, deadline, name, true, refusePastWatermark);
  }

  /** Asks the server to record no baseline of this export. */
  public TrainingSetRequest noBaseline() {
    return new TrainingSetRequest(
        service, features, timestampColumn, deadline, null, false, refusePastWatermark);
  }

  /**
   * Asks the server to refuse the export, with {@code UNAVAILABLE} and nothing sent, when an entity
   * row is later than the offline store's watermark of a view it reads (the newest event time it
   * has committed for the view). By default such rows are exported, and reported by {@link
   * TrainingSet#pastWatermark()}.
   */
  public TrainingSetRequest refusePastWatermark() {
    return new TrainingSetRequest(
        service, features, timestampColumn, deadline, baseline, recordBaseline, true);
  }

  /** True when {@link #refusePastWatermark()} asked the server to refuse. */
  public boolean refusesPastWatermark() {
    return refusePastWatermark;
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

  /**
   * The baseline's name, or null for the server's default (or for none, see {@link
   * #recordsBaseline}).
   */
  public String baseline() {
    return baseline;
  }

  /** False when {@link #noBaseline()} asked for no baseline. */
  public boolean recordsBaseline() {
    return recordBaseline;
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
    json.append(",\"timestamp_column\":").append(quote(timestampColumn));
    if (!recordBaseline) {
      json.append(",\"baseline\":false");
    } else if (baseline != null) {
      json.append(",\"baseline\":").append(quote(baseline));
    }
    if (refusePastWatermark) {
      json.append(",\"refuse_past_watermark\":true");
    }
    json.append('}');
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
