package dev.quiver.ingestion;

import dev.quiver.proto.v1.FeatureView;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.Source;
import dev.quiver.registry.logic.CompiledView;
import dev.quiver.registry.logic.FeatureLogic;
import dev.quiver.registry.rows.RowSink;
import dev.quiver.registry.rows.SourcePartition;
import dev.quiver.registry.rows.ViewId;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs ingestion for every source of the applied registry: one {@link SourceIngestor} per source,
 * all delivering to the same sinks. {@link #apply} switches to a new registry version while
 * running: sources that appear start, sources that disappear stop, and a source whose views changed
 * restarts with the new logic (new views replay the topic from the start; the others resume where
 * they were).
 *
 * <p>Dead-letter topics are created when missing, with a {@code max.message.bytes} that takes any
 * record of their source topic plus the dead-letter headers; each source's dead-letter producer
 * follows its topic's {@code max.message.bytes} as the broker reports it (see {@link
 * DeadLetterSender}).
 *
 * <p>Thread-safe. {@link #close()} stops every ingestor, and with it its dead-letter producer.
 */
public final class Ingestion implements AutoCloseable {
  /** The counter of dead letters, tagged by source and reason. */
  public static final String DEAD_LETTERS_METRIC = "quiver.ingest.dead_letters";

  private static final Logger LOG = LoggerFactory.getLogger(Ingestion.class);

  private final IngestionConfig config;
  private final List<RowSink> sinks;
  private final MeterRegistry meters;

  /** Kafka's default {@code message.max.bytes}, assumed when the broker does not say. */
  static final int KAFKA_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

  /** Room on a dead-letter topic for the headers Quiver adds to the largest source record. */
  static final int DEAD_LETTER_HEADROOM = 64 << 10;

  private final Map<String, Running> running = new HashMap<>();
  private boolean closed;

  private record Running(Source source, List<FeatureView> views, SourceIngestor ingestor) {}

  public Ingestion(IngestionConfig config, List<RowSink> sinks, MeterRegistry meters) {
    this(config, sinks, meters, null);
  }

  /**
   * Ingestion whose new views (and views behind the archive after a failure) are filled from the
   * source archive first, then from Kafka after the archive's last position.
   *
   * @param archive reads the source archives; null: views replay from Kafka only
   */
  public Ingestion(
      IngestionConfig config,
      List<RowSink> sinks,
      MeterRegistry meters,
      dev.quiver.registry.rows.SourceArchive.Reader archive) {
    this.config = Objects.requireNonNull(config, "config");
    this.sinks = List.copyOf(sinks);
    this.meters = Objects.requireNonNull(meters, "meters");
    this.archive = archive;
  }

  private final dev.quiver.registry.rows.SourceArchive.Reader archive;

  /**
   * Ingests the sources of {@code snapshot} with its compiled {@code logic}, starting, stopping and
   * restarting source ingestors as needed.
   */
  public synchronized void apply(RegistrySnapshot snapshot, FeatureLogic logic) {
    if (closed) {
      throw new IllegalStateException("ingestion is closed");
    }
    Map<String, List<FeatureView>> viewsBySource = new HashMap<>();
    for (FeatureView v : snapshot.getFeatureViewsList()) {
      viewsBySource.computeIfAbsent(v.getSource(), s -> new ArrayList<>()).add(v);
    }
    Map<String, Source> sources = new HashMap<>();
    snapshot.getSourcesList().forEach(s -> sources.put(s.getName(), s));

    for (String name : List.copyOf(running.keySet())) {
      Running r = running.get(name);
      Source now = sources.get(name);
      List<FeatureView> views = viewsBySource.getOrDefault(name, List.of());
      if (now == null || views.isEmpty() || !now.equals(r.source()) || !views.equals(r.views())) {
        LOG.info(
            "source {}: stopping ({})",
            name,
            now == null || views.isEmpty() ? "removed" : "changed");
        r.ingestor().close();
        running.remove(name);
      }
    }
    Map<String, Integer> deadLetterLimits = createDeadLetterTopics(snapshot);
    for (Source source : snapshot.getSourcesList()) {
      List<FeatureView> views = viewsBySource.getOrDefault(source.getName(), List.of());
      if (views.isEmpty() || running.containsKey(source.getName())) {
        continue;
      }
      List<CompiledView> compiled = new ArrayList<>();
      for (FeatureView v : views) {
        compiled.add(
            logic
                .view(v.getName(), v.getVersion())
                .orElseThrow(
                    () -> new IllegalArgumentException("no compiled logic for " + v.getName())));
      }
      RecordProcessor processor = new RecordProcessor(snapshot, source, compiled, config.limits());
      int deadLetterMax =
          deadLetterLimits.getOrDefault(
              source.getKafka().getDeadLetterTopic(), KAFKA_DEFAULT_MAX_MESSAGE_BYTES);
      SourceIngestor ingestor =
          new SourceIngestor(source, processor, sinks, deadLetterMax, config, meters, archive);
      running.put(source.getName(), new Running(source, List.copyOf(views), ingestor));
      LOG.info(
          "source {}: ingesting topic {} for {}",
          source.getName(),
          source.getKafka().getTopic(),
          processor.viewIds());
      ingestor.start();
    }
  }

  /** For each running source, the next offset every sink and view has applied, per partition. */
  public synchronized Map<String, Map<SourcePartition, Long>> applied() {
    Map<String, Map<SourcePartition, Long>> out = new HashMap<>();
    running.forEach((name, r) -> out.put(name, r.ingestor().applied()));
    return out;
  }

  /**
   * Each running feature view version's lag behind its topic's log end, in records: the most it has
   * still to apply on any partition. A view version whose source has not measured yet (no partition
   * assigned so far) is absent.
   */
  public synchronized Map<ViewId, Long> viewLag() {
    Map<ViewId, Long> out = new HashMap<>();
    running.forEach((name, r) -> out.putAll(r.ingestor().viewLag()));
    return Map.copyOf(out);
  }

  /**
   * How ingestion of each running source is doing, by source name: failing or not, why and since
   * when, and the lag behind the log end per partition. Sources not running (no views) are absent.
   */
  public synchronized Map<String, SourceHealth> health() {
    Map<String, SourceHealth> out = new HashMap<>();
    running.forEach((name, r) -> out.put(name, r.ingestor().health()));
    return Map.copyOf(out);
  }

  /**
   * Creates the missing dead-letter topics, sized for their source topics' records, and returns
   * every dead-letter topic's {@code max.message.bytes} the broker reports (missing: unknown).
   */
  private Map<String, Integer> createDeadLetterTopics(RegistrySnapshot snapshot) {
    if (snapshot.getSourcesList().isEmpty()) {
      return Map.of();
    }
    try (Admin admin =
        Admin.create(
            Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                config.bootstrapServers(),
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG,
                10_000,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG,
                15_000))) {
      Map<String, Integer> sourceLimits =
          maxMessageBytes(
              admin, snapshot.getSourcesList().stream().map(x -> x.getKafka().getTopic()).toList());
      List<NewTopic> topics = new ArrayList<>();
      for (Source s : snapshot.getSourcesList()) {
        long wanted =
            (long)
                    Math.max(
                        sourceLimits.getOrDefault(
                            s.getKafka().getTopic(), KAFKA_DEFAULT_MAX_MESSAGE_BYTES),
                        KAFKA_DEFAULT_MAX_MESSAGE_BYTES)
                + DEAD_LETTER_HEADROOM;
        topics.add(
            new NewTopic(
                    s.getKafka().getDeadLetterTopic(),
                    java.util.Optional.empty(),
                    java.util.Optional.empty())
                .configs(
                    Map.of(
                        TopicConfig.MAX_MESSAGE_BYTES_CONFIG,
                        String.valueOf(Math.min(wanted, Integer.MAX_VALUE)))));
      }
      admin
          .createTopics(topics)
          .values()
          .forEach(
              (topic, f) -> {
                try {
                  f.get(15, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                  if (!(e.getCause() instanceof TopicExistsException)) {
                    LOG.warn(
                        "dead-letter topic {} could not be created: {}",
                        topic,
                        e.getCause().getMessage());
                  }
                } catch (TimeoutException e) {
                  LOG.warn("dead-letter topic {} not confirmed in 15 s", topic);
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
              });
      Map<String, Integer> limits =
          maxMessageBytes(
              admin,
              snapshot.getSourcesList().stream()
                  .map(x -> x.getKafka().getDeadLetterTopic())
                  .toList());
      for (Source s : snapshot.getSourcesList()) {
        if (!limits.containsKey(s.getKafka().getDeadLetterTopic())) {
          LOG.warn(
              "dead-letter topic {}: max.message.bytes unknown; assuming Kafka's default {}",
              s.getKafka().getDeadLetterTopic(),
              KAFKA_DEFAULT_MAX_MESSAGE_BYTES);
        }
      }
      return limits;
    }
  }

  /** The {@code max.message.bytes} of each topic that exists and answers, by topic name. */
  private static Map<String, Integer> maxMessageBytes(Admin admin, List<String> topics) {
    Map<String, Integer> out = new HashMap<>();
    List<ConfigResource> resources =
        topics.stream()
            .distinct()
            .map(t -> new ConfigResource(ConfigResource.Type.TOPIC, t))
            .toList();
    admin
        .describeConfigs(resources)
        .values()
        .forEach(
            (resource, f) -> {
              try {
                Config c = f.get(15, TimeUnit.SECONDS);
                ConfigEntry e = c.get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG);
                if (e != null && e.value() != null) {
                  out.put(resource.name(), Integer.parseInt(e.value()));
                }
              } catch (ExecutionException | TimeoutException | NumberFormatException e) {
                LOG.debug("max.message.bytes of {} unknown: {}", resource.name(), e.toString());
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });
    return out;
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    for (Running r : running.values()) {
      r.ingestor().close();
    }
    running.clear();
  }
}
