package dev.quiver.registry.load;

import java.util.List;
import java.util.Map;

/**
 * The keys each kind of registry mapping accepts. This is the vocabulary of the registry format;
 * the JSON Schema in {@code schema/quiver-registry.schema.json} is tested against it.
 */
public final class RegistryKeys {
  private RegistryKeys() {}

  public static final List<String> SECTIONS =
      List.of("entities", "sources", "feature_views", "feature_services");
  public static final List<String> CONFIG = List.of("project", "kafka", "data_dir", "ports");
  public static final List<String> CONFIG_KAFKA = List.of("bootstrap");
  public static final List<String> CONFIG_PORTS = List.of("grpc", "flight", "metrics");
  public static final List<String> METADATA = List.of("description", "owner", "tags");
  public static final List<String> ENTITY = withMetadata("join_keys");
  public static final List<String> SOURCE =
      withMetadata("kafka", "event_timestamp", "created_timestamp", "schema", "archive");
  public static final List<String> SOURCE_ARCHIVE = List.of("enabled", "retention");
  public static final List<String> SOURCE_KAFKA =
      List.of(
          "topic",
          "format",
          "dead_letter_topic",
          "wire_format",
          "schema_file",
          "message",
          "writer_schemas");
  public static final List<String> VIEW =
      withMetadata(
          "entities",
          "source",
          "version",
          "ttl",
          "freshness",
          "filter",
          "features",
          "aggregations");
  public static final List<String> FEATURE = withMetadata("type", "expr");

  /** An aggregation's keys: the fixed ones, then every function parameter's. */
  public static final List<String> AGGREGATION =
      concat(
          withMetadata("function", "input", "window", "hop"),
          dev.quiver.registry.aggregate.AggregateParameter.keys());

  public static final List<String> SERVICE = withMetadata("features", "logging", "drift");
  public static final List<String> SERVICE_LOGGING = List.of("sample_rate");
  public static final List<String> SERVICE_DRIFT =
      List.of(
          "psi_warn",
          "psi_alert",
          "windows",
          "min_samples",
          "sample_rate",
          "max_rows_per_second",
          "baseline");

  /** Every mapping kind by the name of its definition in the JSON Schema. */
  public static final Map<String, List<String>> BY_DEFINITION =
      Map.ofEntries(
          Map.entry("configFile", concat(CONFIG, SECTIONS)),
          Map.entry("registryFile", concat(List.of("project"), SECTIONS)),
          Map.entry("kafkaConnection", CONFIG_KAFKA),
          Map.entry("ports", CONFIG_PORTS),
          Map.entry("entity", ENTITY),
          Map.entry("source", SOURCE),
          Map.entry("kafkaTopic", SOURCE_KAFKA),
          Map.entry("sourceArchive", SOURCE_ARCHIVE),
          Map.entry("featureView", VIEW),
          Map.entry("feature", FEATURE),
          Map.entry("aggregation", AGGREGATION),
          Map.entry("featureService", SERVICE),
          Map.entry("featureLogging", SERVICE_LOGGING),
          Map.entry("driftPolicy", SERVICE_DRIFT));

  private static List<String> withMetadata(String... keys) {
    return concat(List.of(keys), METADATA);
  }

  private static List<String> concat(List<String> a, List<String> b) {
    return java.util.stream.Stream.concat(a.stream(), b.stream()).toList();
  }
}
