package dev.quiver.ingestion;

import dev.quiver.proto.v1.FeatureView;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.Source;
import dev.quiver.registry.logic.CompiledView;
import dev.quiver.registry.logic.FeatureLogic;
import dev.quiver.registry.rows.RowSink;
import dev.quiver.registry.rows.SourcePartition;
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
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs ingestion for every source of the applied registry: one {@link SourceIngestor} per source,
 * all delivering to the same sinks. {@link #apply} switches to a new registry version while
 * running: sources that appear start, sources that disappear stop, and a source whose views changed
 * restarts with the new logic (new views replay the topic from the start; the others resume where
 * they were).
 *
 * <p>Thread-safe. {@link #close()} stops every ingestor and the dead-letter producer.
 */
public final class Ingestion implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Ingestion.class);

  private final IngestionConfig config;
  private final List<RowSink> sinks;
  private final MeterRegistry meters;
  private final Producer<byte[], byte[]> deadLetters;
  private final Map<String, Running> running = new HashMap<>();
  private boolean closed;

  private record Running(Source source, List<FeatureView> views, SourceIngestor ingestor) {}

  public Ingestion(IngestionConfig config, List<RowSink> sinks, MeterRegistry meters) {
    this.config = Objects.requireNonNull(config, "config");
    this.sinks = List.copyOf(sinks);
    this.meters = Objects.requireNonNull(meters, "meters");
    Map<String, Object> props = new HashMap<>();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    props.put(ProducerConfig.CLIENT_ID_CONFIG, "quiver-dead-letters");
    this.deadLetters =
        new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
  }

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
    createDeadLetterTopics(snapshot);
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
      RecordProcessor processor = new RecordProcessor(snapshot, source, compiled);
      SourceIngestor ingestor =
          new SourceIngestor(source, processor, sinks, deadLetters, config, meters);
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

  private void createDeadLetterTopics(RegistrySnapshot snapshot) {
    List<NewTopic> topics = new ArrayList<>();
    for (Source s : snapshot.getSourcesList()) {
      topics.add(
          new NewTopic(
              s.getKafka().getDeadLetterTopic(),
              java.util.Optional.empty(),
              java.util.Optional.empty()));
    }
    if (topics.isEmpty()) {
      return;
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
    }
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
    deadLetters.close(java.time.Duration.ofSeconds(10));
  }
}
