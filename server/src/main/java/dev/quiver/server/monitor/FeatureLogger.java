package dev.quiver.server.monitor;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import dev.quiver.online.EntityKeyCodec;
import dev.quiver.online.LookupListener;
import dev.quiver.online.ServedAnswer;
import dev.quiver.online.ServingCatalog;
import dev.quiver.proto.v1.LoggedVector;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.registry.monitor.FeatureLog;
import dev.quiver.registry.rows.ViewId;
import dev.quiver.registry.semantics.Micros;
import dev.quiver.registry.util.RepeatingFailureLog;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.ToLongFunction;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes the vectors {@code quiver serve} answers for services with {@code logging} to their log
 * topics ({@link FeatureLog}), one record per sampled entity row, keyed by the entity so an
 * entity's records stay in order on one partition.
 *
 * <p>Logging never holds up a lookup: records are handed to an idempotent Kafka producer that does
 * not block ({@code max.block.ms=0}); a record the producer cannot take or deliver (broker away,
 * buffer full) is counted in {@code quiver_feature_log_dropped_total{service,reason}}, never
 * retried from the request. A service's records start once its topic exists and the producer knows
 * its partitions; rows answered before that are counted as dropped ({@code reason="not_ready"}).
 * While a service reads the previous version of a view because the one it names is still building
 * (docs/history.md), its rows are not logged ({@code reason="version_switch"}): the log records the
 * versions the service names.
 *
 * <p>Threading: {@link #answered} runs on the serving threads; {@link #apply} on one background
 * thread.
 */
public final class FeatureLogger implements LookupListener, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(FeatureLogger.class);
  public static final String RECORDS = "quiver.feature_log.records";
  public static final String DROPPED = "quiver.feature_log.dropped";

  private static final JsonFactory JSON = new JsonFactory();

  private final String bootstrap;
  private final String project;
  private final MeterRegistry meters;
  private final ToLongFunction<ViewId> applied;
  private final KafkaProducer<byte[], byte[]> producer;
  private volatile Map<String, Logged> services = Map.of();
  private final Set<String> readyTopics = ConcurrentHashMap.newKeySet();
  private final java.util.concurrent.ScheduledExecutorService preparer =
      java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "quiver-feature-log-topics");
            t.setDaemon(true);
            return t;
          });
  private final Map<List<String>, Counter> counters = new ConcurrentHashMap<>();
  private final RepeatingFailureLog failures =
      new RepeatingFailureLog(LOG, "feature log", Duration.ofMinutes(1));

  /** A logging service: its layout and topic. */
  private record Logged(FeatureLog.Layout layout, String topic, Counter records) {}

  /**
   * @param applied the newest event time the online store has applied to a view, epoch microseconds
   *     ({@link Long#MIN_VALUE} for none)
   */
  public FeatureLogger(
      String bootstrap, String project, MeterRegistry meters, ToLongFunction<ViewId> applied) {
    this.bootstrap = Objects.requireNonNull(bootstrap, "bootstrap");
    this.project = Objects.requireNonNull(project, "project");
    this.meters = Objects.requireNonNull(meters, "meters");
    this.applied = Objects.requireNonNull(applied, "applied");
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "quiver-feature-log");
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    // Large, seldom batches: a record waits up to 200 ms, and sending costs little per record.
    p.put(ProducerConfig.LINGER_MS_CONFIG, 200);
    p.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
    p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 0);
    p.put(ProducerConfig.BUFFER_MEMORY_CONFIG, 32L << 20);
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 120_000);
    this.producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
  }

  /**
   * Follows a registry version: the services that log, their layouts. Missing log topics are
   * created, and the producer brought to know their partitions, on a thread of the logger's own
   * (retried every few seconds while the broker is away), so a registry change never waits on the
   * broker.
   */
  public synchronized void apply(RegistrySnapshot snapshot) {
    Map<String, Logged> next = new HashMap<>();
    for (FeatureLog.Layout layout : FeatureLog.layouts(snapshot)) {
      String service = layout.service();
      next.put(
          service,
          new Logged(layout, FeatureLog.topic(project, service), counter(RECORDS, service, null)));
    }
    services = Map.copyOf(next);
    List<String> missing =
        next.values().stream().map(Logged::topic).filter(t -> !readyTopics.contains(t)).toList();
    if (!missing.isEmpty()) {
      preparer.execute(this::prepareMissing);
    }
  }

  /** Whether vectors of {@code service} are being logged (its topic is ready). */
  public boolean ready(String service) {
    Logged l = services.get(service);
    return l != null && readyTopics.contains(l.topic);
  }

  private void prepareMissing() {
    List<String> missing =
        services.values().stream()
            .map(Logged::topic)
            .filter(t -> !readyTopics.contains(t))
            .distinct()
            .toList();
    if (missing.isEmpty()) {
      return;
    }
    prepareTopics(missing);
    if (services.values().stream().anyMatch(l -> !readyTopics.contains(l.topic))) {
      preparer.schedule(this::prepareMissing, 5, TimeUnit.SECONDS);
    }
  }

  private void prepareTopics(List<String> topics) {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10_000);
    try (Admin admin = Admin.create(p)) {
      for (String topic : topics) {
        try {
          admin
              .createTopics(
                  List.of(
                      new NewTopic(topic, java.util.Optional.empty(), java.util.Optional.empty())))
              .all()
              .get(10, TimeUnit.SECONDS);
          LOG.info("created feature log topic {}", topic);
        } catch (java.util.concurrent.ExecutionException e) {
          if (!(e.getCause() instanceof TopicExistsException)) {
            failures.failure("creating feature log topic " + topic + " failed: " + e.getCause(), e);
            continue;
          }
        }
        // The producer learns the topic's partitions in the background; sends before that fail
        // at once (it never blocks), so wait here, off the serving path.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
          try {
            producer.partitionsFor(topic);
            readyTopics.add(topic);
            break;
          } catch (org.apache.kafka.common.errors.TimeoutException e) {
            Thread.sleep(50);
          }
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (java.util.concurrent.TimeoutException | RuntimeException e) {
      failures.failure("preparing the feature log topics failed: " + e, e);
    }
  }

  @Override
  public boolean wantsAnswers() {
    return !services.isEmpty();
  }

  @Override
  public void answered(ServedAnswer a) {
    if (a.service() == null) {
      return;
    }
    Logged logged = services.get(a.service());
    if (logged == null || a.features().size() != logged.layout.columns().size()) {
      return;
    }
    for (ServingCatalog.ServedFeature f : a.features()) {
      if (!logged.layout.viewIds().contains(f.view())) {
        // Served from the version before a new one that is still building: the log records
        // the versions its layout names, so these vectors would be checked against the wrong one.
        counter(DROPPED, a.service(), "version_switch").increment(a.rows());
        return;
      }
    }
    List<String> keyNames = logged.layout.keyNames();
    for (int r = 0; r < a.rows(); r++) {
      List<Object> key = new ArrayList<>(keyNames.size());
      for (String k : keyNames) {
        key.add(a.key(k, r));
      }
      if (!FeatureLog.sampled(key, logged.layout.sampleRate())) {
        continue;
      }
      if (!readyTopics.contains(logged.topic)) {
        counter(DROPPED, a.service(), "not_ready").increment();
        continue;
      }
      byte[] value = record(logged, a, r, key);
      try {
        producer.send(
            new ProducerRecord<>(logged.topic, EntityKeyCodec.encode(key), value),
            (metadata, e) -> {
              if (e == null) {
                logged.records.increment();
              } else {
                counter(DROPPED, a.service(), "not_delivered").increment();
                failures.failure("a feature log record was not delivered: " + e, e);
              }
            });
      } catch (RuntimeException e) {
        // Buffer full or no metadata: the producer does not block, so the record is dropped.
        counter(DROPPED, a.service(), "producer_busy").increment();
        failures.failure("a feature log record could not be handed to the producer: " + e, e);
      }
    }
  }

  private byte[] record(Logged logged, ServedAnswer a, int r, List<Object> key) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartObject();
      List<String> keyNames = logged.layout.keyNames();
      for (int k = 0; k < keyNames.size(); k++) {
        Object v = key.get(k);
        g.writeFieldName(keyNames.get(k));
        if (v instanceof Long l) {
          g.writeNumber(l);
        } else if (v instanceof ByteString b) {
          g.writeString(Base64.getEncoder().encodeToString(b.toByteArray()));
        } else {
          g.writeString(String.valueOf(v));
        }
      }
      g.writeStringField(FeatureLog.REQUEST_TIME, instant(a.requestTimeMicros()));
      g.writeNumberField(FeatureLog.LAYOUT, logged.layout.version());
      g.writeNumberField(FeatureLog.REGISTRY_VERSION, a.registryVersion());
      LoggedVector.Builder vector = LoggedVector.newBuilder();
      int columns = logged.layout.columns().size();
      for (int f = 0; f < columns; f++) {
        vector.addValues(a.value(f, r));
        vector.addStatuses(a.status(f, r));
        vector.addEventTimestamps(timestamp(a.eventTimeMicros(f, r)));
      }
      for (ViewId view : logged.layout.viewIds()) {
        vector.addAppliedTimestamps(timestamp(applied.applyAsLong(view)));
      }
      // Jackson's default base64 is the standard alphabet with padding, as the decoder reads it.
      g.writeBinaryField(FeatureLog.VECTOR, vector.build().toByteArray());
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  private static String instant(long micros) {
    return Micros.toInstant(micros).toString();
  }

  /** The timestamp of an epoch-microsecond time; the empty one for none. */
  private static Timestamp timestamp(long micros) {
    return micros == Long.MIN_VALUE ? Timestamp.getDefaultInstance() : Micros.timestamp(micros);
  }

  private Counter counter(String name, String service, String reason) {
    List<String> id = reason == null ? List.of(name, service) : List.of(name, service, reason);
    return counters.computeIfAbsent(
        id,
        k -> {
          Counter.Builder b =
              Counter.builder(name)
                  .description(
                      reason == null
                          ? "Served vectors written to the feature log, by feature service"
                          : "Served vectors the feature log dropped, by feature service and reason")
                  .tag("service", service);
          if (reason != null) {
            b.tag("reason", reason);
          }
          return b.register(meters);
        });
  }

  /** Sends what is buffered; for tests and shutdown. */
  public void flush() {
    producer.flush();
  }

  @Override
  public void close() {
    preparer.shutdownNow();
    producer.close(Duration.ofSeconds(5));
  }
}
