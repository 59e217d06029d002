package dev.quiver.server;

import dev.quiver.kafka.EmbeddedKafka;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.registry.FeatureRepo;
import dev.quiver.registry.load.RepoLoader;
import dev.quiver.registry.plan.Plan;
import dev.quiver.registry.plan.Planner;
import dev.quiver.registry.store.DirectoryRegistryStore;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** Test support: a real broker, feature repos applied to a registry, producing and waiting. */
final class TestCluster {
  private TestCluster() {}

  /** Writes a repo (quiver.yaml for {@code project} plus features.yaml) and applies it. */
  static RegistrySnapshot apply(Path repo, String project, String registry, boolean allowRemovals)
      throws Exception {
    Files.createDirectories(repo);
    Files.writeString(repo.resolve("quiver.yaml"), "project: " + project + "\ndata_dir: data\n");
    Files.writeString(repo.resolve("features.yaml"), registry);
    FeatureRepo loaded = RepoLoader.load(repo);
    DirectoryRegistryStore store = new DirectoryRegistryStore(repo.resolve("data/registry"));
    RegistrySnapshot applied = store.latest().orElse(RegistrySnapshot.getDefaultInstance());
    Plan plan = Planner.plan(applied, loaded, allowRemovals);
    if (!plan.canApply()) {
      throw new AssertionError("plan refused: " + plan.refusals());
    }
    return store.apply(applied.getVersion(), plan.next());
  }

  static QuiverServer serve(Path repo, EmbeddedKafka kafka) throws Exception {
    return serve(repo, kafka.bootstrapServers());
  }

  static QuiverServer serve(Path repo, String bootstrap) throws Exception {
    return QuiverServer.start(options(repo, bootstrap));
  }

  /** Options of {@link #serve}: any free ports, no /metrics endpoint. */
  static QuiverServer.Options options(Path repo, String bootstrap) throws Exception {
    QuiverServer.Options o =
        QuiverServer.Options.defaults(RepoSettings.read(repo))
            .withBootstrap(bootstrap)
            .withGrpcPort(0)
            .withFlightPort(0)
            .withMetricsPort(0);
    return o.withHost("127.0.0.1").withMaxEntities(50).withRegistryPoll(Duration.ofMillis(100));
  }

  /**
   * Starts {@code quiver serve REPO --bootstrap B --port 0 --flight-port 0 ARGS...} in a JVM of its
   * own with a 512 MB heap, its output in {@code log}.
   */
  static Process serveProcess(Path repo, String bootstrap, Path log, String... args)
      throws java.io.IOException {
    List<String> command =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m",
                "-cp",
                System.getProperty("java.class.path"),
                "dev.quiver.server.cli.QuiverCommand",
                "serve",
                repo.toString(),
                "--bootstrap",
                bootstrap,
                "--port",
                "0",
                "--flight-port",
                "0",
                "--metrics-port",
                "0"));
    command.addAll(List.of(args));
    return new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .start();
  }

  /** A client of {@code server} with a deadline generous enough for a loaded test machine. */
  static dev.quiver.client.QuiverClient client(QuiverServer server) {
    return dev.quiver.client.QuiverClient.builder()
        .target("127.0.0.1:" + server.grpcPort())
        .defaultDeadline(Duration.ofSeconds(30))
        .build();
  }

  static KafkaProducer<byte[], byte[]> producer(EmbeddedKafka kafka) {
    return producer(kafka.bootstrapServers());
  }

  static KafkaProducer<byte[], byte[]> producer(String bootstrap) {
    return new KafkaProducer<>(
        Map.of(
            ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap, ProducerConfig.ACKS_CONFIG, "all"),
        new ByteArraySerializer(),
        new ByteArraySerializer());
  }

  /** Sends lines (null for a tombstone) to partition 0 of {@code topic}; returns their offsets. */
  static List<Long> send(KafkaProducer<byte[], byte[]> producer, String topic, List<String> lines)
      throws Exception {
    List<java.util.concurrent.Future<RecordMetadata>> sent = new ArrayList<>();
    for (String line : lines) {
      sent.add(
          producer.send(
              new ProducerRecord<>(
                  topic, 0, null, line == null ? null : line.getBytes(StandardCharsets.UTF_8))));
    }
    producer.flush();
    List<Long> offsets = new ArrayList<>();
    for (var f : sent) {
      offsets.add(f.get(30, TimeUnit.SECONDS).offset());
    }
    return offsets;
  }

  /** Waits until every view of {@code source} has applied partition 0 up to {@code next}. */
  static void awaitApplied(QuiverServer server, String source, long next)
      throws InterruptedException {
    await(
        () ->
            server.applied().getOrDefault(source, Map.of()).entrySet().stream()
                .anyMatch(e -> e.getKey().partition() == 0 && e.getValue() >= next),
        "source " + source + " to reach offset " + next + "; applied: " + server.applied());
  }

  static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (!holds(condition)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(20);
    }
  }

  /** A condition that polls a server: a call that timed out or found it busy means "not yet". */
  private static boolean holds(BooleanSupplier condition) {
    try {
      return condition.getAsBoolean();
    } catch (io.grpc.StatusRuntimeException e) {
      io.grpc.Status.Code code = e.getStatus().getCode();
      if (code == io.grpc.Status.Code.DEADLINE_EXCEEDED
          || code == io.grpc.Status.Code.UNAVAILABLE) {
        return false;
      }
      throw e;
    }
  }

  /** Reads every record of partition 0 of {@code topic} up to {@code count} records. */
  static List<ConsumerRecord<byte[], byte[]>> readAll(EmbeddedKafka kafka, String topic, int count)
      throws InterruptedException {
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(
            Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()),
            new ByteArrayDeserializer(),
            new ByteArrayDeserializer())) {
      TopicPartition tp = new TopicPartition(topic, 0);
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (out.size() < count && System.nanoTime() < deadline) {
        consumer.poll(Duration.ofMillis(200)).forEach(out::add);
      }
      return out;
    }
  }

  static String header(ConsumerRecord<byte[], byte[]> r, String key) {
    var h = r.headers().lastHeader(key);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }
}
