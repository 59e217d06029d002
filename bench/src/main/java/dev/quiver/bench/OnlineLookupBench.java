package dev.quiver.bench;

import dev.quiver.client.OnlineRequest;
import dev.quiver.client.QuiverClient;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.registry.load.RepoLoader;
import dev.quiver.registry.plan.Plan;
import dev.quiver.registry.plan.Planner;
import dev.quiver.registry.store.DirectoryRegistryStore;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Response;

/**
 * Online lookups end to end: loads entities through Kafka into {@code quiver serve} (a child
 * process with its embedded broker) and the same feature values into Redis, then measures, in one
 * run and with ingestion running: GetOnlineFeatures for 1 entity x 50 features and 100 x 50, an
 * empty unary gRPC call on the same server (health check), and the same lookups from Redis with
 * pipelined HGETALLs. Latency is measured at a fixed request rate from the intended send time (no
 * coordinated omission); throughput with concurrent callers sending back to back.
 */
@Command(name = "online-lookup-bench", mixinStandardHelpOptions = true)
public final class OnlineLookupBench implements Callable<Integer> {
  static final int VIEWS = 5;
  static final int FEATURES = 10;

  @Option(names = "--entities", description = "Entities to load. Default: ${DEFAULT-VALUE}.")
  int entities = 1_000_000;

  @Option(names = "--work", required = true, description = "Scratch directory.")
  Path work;

  @Option(names = "--quiver-jar", description = "Default: ${DEFAULT-VALUE}.")
  Path quiverJar = Path.of("server/target/quiver.jar");

  @Option(names = "--redis-port", description = "Default: ${DEFAULT-VALUE}.")
  int redisPort = 6390;

  @Option(
      names = "--seconds",
      description = "Seconds per latency measurement. Default: ${DEFAULT-VALUE}.")
  int seconds = 20;

  @Option(names = "--rate", description = "Requests/s for 1x50 latency. Default: ${DEFAULT-VALUE}.")
  int rate = 5000;

  @Option(
      names = "--batch-rate",
      description = "Requests/s for 100x50 latency. Default: ${DEFAULT-VALUE}.")
  int batchRate = 200;

  @Option(names = "--callers", description = "Concurrent callers. Default: ${DEFAULT-VALUE}.")
  int callers = 8;

  @Option(
      names = "--cache-mb",
      description = "Online store block cache. Default: ${DEFAULT-VALUE}.")
  int cacheMb = 2048;

  @Option(
      names = "--background-events",
      description = "Events/s produced while measuring. Default: ${DEFAULT-VALUE}.")
  int backgroundRate = 1000;

  @Option(
      names = "--aggregations",
      description =
          "Also give every view a windowed sum, avg and count (1h), served with the rest: the"
              + " cost of tiles at ingestion and of window merges at lookup. Default: off.")
  boolean aggregations;

  @Option(
      names = "--monitoring",
      description =
          "Also measure lookups of a second feature service, the same features with live drift"
              + " profiles (every answered value sketched) and feature logging of 1% of entities,"
              + " against the first with both off, in the same run. Default: off.")
  boolean monitoring;

  @Option(
      names = "--serve-jvm-arg",
      description = "Extra JVM option of the quiver serve child, e.g. a JFR recording.")
  List<String> serveJvmArgs = new ArrayList<>();

  public static void main(String[] args) {
    System.exit(new CommandLine(new OnlineLookupBench()).execute(args));
  }

  record Result(String name, double p50, double p99, double p999, double rate, double throughput) {}

  @Override
  public Integer call() throws Exception {
    Path repo = work.resolve("repo");
    writeRepo(repo);
    Process server = startServer(repo);
    try {
      Properties endpoints = awaitEndpoints(repo.resolve(".quiver/serve.properties"), server);
      String bootstrap = endpoints.getProperty("bootstrap");
      String grpc = endpoints.getProperty("grpc");
      log("quiver serve at %s, Kafka at %s", grpc, bootstrap);

      long t0 = System.nanoTime();
      long produced = produce(bootstrap, entities);
      double produceSeconds = (System.nanoTime() - t0) / 1e9;
      awaitCommitted(bootstrap, "quiver.bench.events", produced, server);
      double ingestSeconds = (System.nanoTime() - t0) / 1e9;
      log(
          "produced %d events in %.1f s; all ingested after %.1f s (%.0f events/s, %d rows/s)",
          produced,
          produceSeconds,
          ingestSeconds,
          produced / ingestSeconds,
          (long) (produced * VIEWS / ingestSeconds));
      double rawSeconds = rawConsume(bootstrap, produced);
      log(
          "raw KafkaConsumer read the same %d records in %.1f s (%.0f records/s)",
          produced, rawSeconds, produced / rawSeconds);

      long r0 = System.nanoTime();
      loadRedis(entities);
      log("loaded Redis in %.1f s", (System.nanoTime() - r0) / 1e9);

      AtomicBoolean stop = new AtomicBoolean();
      Thread background = new Thread(() -> backgroundEvents(bootstrap, stop), "background-events");
      background.start();

      List<Result> results = new ArrayList<>();
      try (QuiverClient client =
          QuiverClient.builder().target(grpc).defaultDeadline(Duration.ofSeconds(5)).build()) {
        ManagedChannel ch = ManagedChannelBuilder.forTarget(grpc).usePlaintext().build();
        HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(ch);
        HealthCheckRequest check = HealthCheckRequest.newBuilder().build();
        Call empty = () -> health.withDeadlineAfter(5, TimeUnit.SECONDS).check(check);
        Call quiver1 = () -> client.getOnlineFeatures(request(1));
        Call quiver100 = () -> client.getOnlineFeatures(request(100));
        ThreadLocal<Jedis> jedis = ThreadLocal.withInitial(() -> new Jedis("127.0.0.1", redisPort));
        Call redis1 = () -> redisLookup(jedis.get(), 1);
        Call redis100 = () -> redisLookup(jedis.get(), 100);

        for (Call c : List.of(empty, quiver1, redis1, quiver100, redis100)) {
          run(c, 5); // warm up every path first
        }
        results.add(measure("empty gRPC call (health check)", empty, rate));
        results.add(measure("quiver 1 entity x 50 features", quiver1, rate));
        results.add(measure("redis 1 entity x 50 features (5 HGETALL, pipelined)", redis1, rate));
        results.add(measure("quiver 100 entities x 50 features", quiver100, batchRate));
        results.add(
            measure(
                "redis 100 entities x 50 features (500 HGETALL, pipelined)", redis100, batchRate));
        if (monitoring) {
          Call monitored1 = () -> client.getOnlineFeatures(request(1, "bench_monitored"));
          Call monitored100 = () -> client.getOnlineFeatures(request(100, "bench_monitored"));
          run(monitored1, 5);
          run(monitored100, 5);
          // Off and on alternate, so a drift of the machine over the run falls on both.
          results.add(measure("quiver 1 x 50, live profiles and 1% logging on", monitored1, rate));
          results.add(measure("quiver 1 x 50, monitoring off (again)", quiver1, rate));
          results.add(
              measure("quiver 100 x 50, live profiles and 1% logging on", monitored100, batchRate));
          results.add(measure("quiver 100 x 50, monitoring off (again)", quiver100, batchRate));
        }
        ch.shutdownNow();
      } finally {
        stop.set(true);
        background.join();
      }
      System.out.println();
      System.out.printf(
          "| lookup | rate (req/s) | p50 (ms) | p99 (ms) | p99.9 (ms) | throughput (req/s, %d callers) |%n",
          callers);
      System.out.println("|---|---|---|---|---|---|");
      for (Result r : results) {
        System.out.printf(
            Locale.ROOT,
            "| %s | %.0f | %.3f | %.3f | %.3f | %.0f |%n",
            r.name(),
            r.rate(),
            r.p50(),
            r.p99(),
            r.p999(),
            r.throughput());
      }
      Result empty = results.get(0);
      Result q1 = results.get(1);
      Result r1 = results.get(2);
      Result q100 = results.get(3);
      Result r100 = results.get(4);
      System.out.printf(
          Locale.ROOT,
          "%nratios: quiver 1x50 p50 / empty call p50 = %.2f; quiver 1x50 throughput / redis = %.2f;"
              + " quiver 100x50 throughput / redis = %.2f; quiver 1x50 p99 / redis p99 = %.2f%n",
          q1.p50() / empty.p50(),
          q1.throughput() / r1.throughput(),
          q100.throughput() / r100.throughput(),
          q1.p99() / r1.p99());
      if (monitoring) {
        Result m1 = results.get(5);
        Result o1 = results.get(6);
        Result m100 = results.get(7);
        Result o100 = results.get(8);
        System.out.printf(
            Locale.ROOT,
            "monitoring on / off: 1x50 throughput %.3f, p99 %.3f; 100x50 throughput %.3f, p99"
                + " %.3f (off = the mean of both off runs)%n",
            m1.throughput() / ((q1.throughput() + o1.throughput()) / 2),
            m1.p99() / ((q1.p99() + o1.p99()) / 2),
            m100.throughput() / ((q100.throughput() + o100.throughput()) / 2),
            m100.p99() / ((q100.p99() + o100.p99()) / 2));
      }
      return 0;
    } finally {
      server.destroy();
      server.waitFor(30, TimeUnit.SECONDS);
      server.destroyForcibly();
    }
  }

  @FunctionalInterface
  interface Call {
    void run() throws Exception;
  }

  static OnlineRequest request(int n) {
    return request(n, "bench");
  }

  static OnlineRequest request(int n, String service) {
    List<Object> users = new ArrayList<>(n);
    ThreadLocalRandom r = ThreadLocalRandom.current();
    for (int i = 0; i < n; i++) {
      users.add(user(r.nextInt(BenchState.entities)));
    }
    return OnlineRequest.forService(service).entity("user_id", users);
  }

  /** Shared with the static request builders. */
  static final class BenchState {
    static int entities;
  }

  static String user(int i) {
    return String.format(Locale.ROOT, "u%07d", i);
  }

  void redisLookup(Jedis jedis, int n) {
    Pipeline p = jedis.pipelined();
    List<Response<Map<String, String>>> out = new ArrayList<>(n * VIEWS);
    ThreadLocalRandom r = ThreadLocalRandom.current();
    for (int i = 0; i < n; i++) {
      String u = user(r.nextInt(entities));
      for (int v = 0; v < VIEWS; v++) {
        out.add(p.hgetAll("v" + v + ":" + u));
      }
    }
    p.sync();
    int fields = 0;
    for (Response<Map<String, String>> resp : out) {
      fields += resp.get().size();
    }
    if (fields != n * VIEWS * FEATURES) {
      throw new IllegalStateException("redis returned " + fields + " fields");
    }
  }

  /** Latency at a fixed rate, then throughput back to back. */
  Result measure(String name, Call call, int targetRate) throws Exception {
    log("measuring %s at %d req/s for %d s", name, targetRate, seconds);
    Recorder recorder = new Recorder(3);
    AtomicLong errors = new AtomicLong();
    List<Thread> threads = new ArrayList<>();
    long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100);
    long end = start + TimeUnit.SECONDS.toNanos(seconds);
    long interval = TimeUnit.SECONDS.toNanos(1) * callers / targetRate;
    for (int w = 0; w < callers; w++) {
      long first = start + interval * w / callers;
      Thread t =
          new Thread(
              () -> {
                for (long intended = first; intended < end; intended += interval) {
                  long now;
                  while ((now = System.nanoTime()) < intended) {
                    java.util.concurrent.locks.LockSupport.parkNanos(intended - now);
                  }
                  try {
                    call.run();
                  } catch (Exception e) {
                    errors.incrementAndGet();
                  }
                  recorder.recordValue(System.nanoTime() - intended);
                }
              });
      t.start();
      threads.add(t);
    }
    for (Thread t : threads) {
      t.join();
    }
    Histogram h = recorder.getIntervalHistogram();
    double achieved = h.getTotalCount() / (double) seconds;
    double tput = run(call, 10);
    if (errors.get() > 0) {
      log("%s: %d errors", name, errors.get());
    }
    return new Result(
        name,
        h.getValueAtPercentile(50) / 1e6,
        h.getValueAtPercentile(99) / 1e6,
        h.getValueAtPercentile(99.9) / 1e6,
        achieved,
        tput);
  }

  /** Back-to-back calls from {@code callers} threads for {@code seconds}; returns calls/s. */
  double run(Call call, int runSeconds) throws InterruptedException {
    AtomicLong done = new AtomicLong();
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(runSeconds);
    List<Thread> threads = new ArrayList<>();
    for (int w = 0; w < callers; w++) {
      Thread t =
          new Thread(
              () -> {
                while (System.nanoTime() < end) {
                  try {
                    call.run();
                    done.incrementAndGet();
                  } catch (Exception e) {
                    // counted as not done
                  }
                }
              });
      t.start();
      threads.add(t);
    }
    for (Thread t : threads) {
      t.join();
    }
    return done.get() / (double) runSeconds;
  }

  // ---------------------------------------------------------------- setup

  void writeRepo(Path repo) throws Exception {
    BenchState.entities = entities;
    Files.createDirectories(repo);
    Files.writeString(
        repo.resolve("quiver.yaml"), "project: bench\nkafka: {bootstrap: localhost:9092}\n");
    StringBuilder y = new StringBuilder();
    y.append("entities:\n  user: {join_keys: {user_id: string}}\n");
    y.append("sources:\n  events:\n    kafka: {topic: bench.events}\n    event_timestamp: ts\n");
    y.append("    schema: {user_id: string, ts: int64");
    for (int f = 0; f < FEATURES; f++) {
      y.append(", f").append(f).append(": double");
    }
    y.append("}\nfeature_views:\n");
    List<String> service = new ArrayList<>();
    for (int v = 0; v < VIEWS; v++) {
      y.append("  v")
          .append(v)
          .append(":\n    entities: [user]\n    source: events\n    features:\n");
      for (int f = 0; f < FEATURES; f++) {
        String name = "v" + v + "_f" + f;
        y.append("      ")
            .append(name)
            .append(": {type: double, expr: f")
            .append(f)
            .append(" * ")
            .append(v + 1)
            .append(".0}\n");
        service.add("v" + v + ":" + name);
      }
      if (aggregations) {
        y.append("    aggregations:\n");
        for (String fn : List.of("sum", "avg", "count")) {
          String name = "v" + v + "_" + fn + "_1h";
          y.append("      ")
              .append(name)
              .append(": {function: ")
              .append(fn)
              .append(", input: f0 * ")
              .append(v + 1)
              .append(".0, window: 1h}\n");
          service.add("v" + v + ":" + name);
        }
      }
    }
    // The service measured throughout profiles nothing; bench_monitored (--monitoring) serves the
    // same features with live drift profiles of every answered value and 1% of entities logged.
    y.append("feature_services:\n  bench:\n    drift: {sample_rate: 0}\n    features: [")
        .append(String.join(", ", service))
        .append("]\n");
    y.append("  bench_monitored:\n    logging: {sample_rate: 0.01}\n    features: [")
        .append(String.join(", ", service))
        .append("]\n");
    Files.writeString(repo.resolve("features.yaml"), y.toString());
    var loaded = RepoLoader.load(repo);
    DirectoryRegistryStore store = new DirectoryRegistryStore(repo.resolve(".quiver/registry"));
    RegistrySnapshot applied = store.latest().orElse(RegistrySnapshot.getDefaultInstance());
    Plan plan = Planner.plan(applied, loaded, false);
    if (!plan.isEmpty()) {
      store.apply(applied.getVersion(), plan.next());
    }
  }

  private static int freePort() throws java.io.IOException {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  Process startServer(Path repo) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx6g");
    command.addAll(serveJvmArgs);
    command.addAll(
        List.of(
            "-jar",
            quiverJar.toString(),
            "serve",
            repo.toString(),
            "--embedded-kafka",
            "--port",
            "0",
            "--flight-port",
            "0",
            // A free port, so a server already on the default one does not stop the run.
            "--metrics-port",
            String.valueOf(freePort()),
            "--host",
            "127.0.0.1",
            "--cache-mb",
            String.valueOf(cacheMb)));
    return new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(work.resolve("serve.log").toFile())
        .start();
  }

  Properties awaitEndpoints(Path file, Process server) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (!Files.exists(file)) {
      if (!server.isAlive() || System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "quiver serve did not start; see " + work.resolve("serve.log"));
      }
      Thread.sleep(100);
    }
    Thread.sleep(200);
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(file)) {
      p.load(r);
    }
    return p;
  }

  static KafkaProducer<byte[], byte[]> producer(String bootstrap) {
    return new KafkaProducer<>(
        Map.of(
            ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
            bootstrap,
            ProducerConfig.LINGER_MS_CONFIG,
            20,
            ProducerConfig.BATCH_SIZE_CONFIG,
            256 * 1024,
            ProducerConfig.COMPRESSION_TYPE_CONFIG,
            "lz4"),
        new ByteArraySerializer(),
        new ByteArraySerializer());
  }

  static byte[] event(int user, long ts, ThreadLocalRandom r) {
    StringBuilder b = new StringBuilder(220);
    b.append("{\"user_id\":\"").append(user(user)).append("\",\"ts\":").append(ts);
    for (int f = 0; f < FEATURES; f++) {
      b.append(",\"f").append(f).append("\":").append(r.nextInt(100_000) / 100.0);
    }
    return b.append('}').toString().getBytes(StandardCharsets.UTF_8);
  }

  long produce(String bootstrap, int n) {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    long ts = Instant.now().toEpochMilli();
    try (KafkaProducer<byte[], byte[]> p = producer(bootstrap)) {
      for (int i = 0; i < n; i++) {
        p.send(
            new ProducerRecord<>(
                "bench.events", user(i).getBytes(StandardCharsets.UTF_8), event(i, ts, r)));
      }
      p.flush();
    }
    return n;
  }

  void backgroundEvents(String bootstrap, AtomicBoolean stop) {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    try (KafkaProducer<byte[], byte[]> p = producer(bootstrap)) {
      long next = System.nanoTime();
      long interval = TimeUnit.SECONDS.toNanos(1) / backgroundRate;
      while (!stop.get()) {
        int u = r.nextInt(entities);
        p.send(
            new ProducerRecord<>(
                "bench.events",
                user(u).getBytes(StandardCharsets.UTF_8),
                event(u, System.currentTimeMillis(), r)));
        next += interval;
        long wait = next - System.nanoTime();
        if (wait > 0) {
          java.util.concurrent.locks.LockSupport.parkNanos(wait);
        }
      }
    }
  }

  void awaitCommitted(String bootstrap, String group, long records, Process server)
      throws Exception {
    try (Admin admin =
        Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
      long last = -1;
      while (true) {
        Map<TopicPartition, OffsetAndMetadata> c =
            admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
        long sum = c.values().stream().mapToLong(o -> o == null ? 0 : o.offset()).sum();
        if (sum >= records) {
          return;
        }
        if (!server.isAlive()) {
          throw new IllegalStateException("quiver serve died; see " + work.resolve("serve.log"));
        }
        if (sum / 100_000 != last / 100_000) {
          log("ingested %d of %d", sum, records);
          last = sum;
        }
        Thread.sleep(200);
      }
    }
  }

  double rawConsume(String bootstrap, long records) {
    Map<String, Object> props = new HashMap<>();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2000);
    try (KafkaConsumer<byte[], byte[]> c =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> parts = new ArrayList<>();
      c.partitionsFor("bench.events")
          .forEach(pi -> parts.add(new TopicPartition(pi.topic(), pi.partition())));
      c.assign(parts);
      c.seekToBeginning(parts);
      long start = System.nanoTime();
      long seen = 0;
      long bytes = 0;
      while (seen < records) {
        for (var rec : c.poll(Duration.ofMillis(500))) {
          seen++;
          bytes += rec.value().length;
        }
      }
      if (bytes == 0) {
        throw new IllegalStateException("no bytes read");
      }
      return (System.nanoTime() - start) / 1e9;
    }
  }

  void loadRedis(int n) {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    try (Jedis jedis = new Jedis("127.0.0.1", redisPort)) {
      jedis.flushAll();
      Pipeline p = jedis.pipelined();
      for (int i = 0; i < n; i++) {
        String u = user(i);
        for (int v = 0; v < VIEWS; v++) {
          Map<String, String> fields = new HashMap<>();
          for (int f = 0; f < FEATURES; f++) {
            fields.put("v" + v + "_f" + f, Double.toString(r.nextInt(100_000) / 100.0));
          }
          p.hset("v" + v + ":" + u, fields);
        }
        if (i % 2000 == 1999) {
          p.sync();
          p = jedis.pipelined();
        }
      }
      p.sync();
    }
  }

  static void log(String format, Object... args) {
    System.out.println(
        "[bench "
            + java.time.LocalTime.now(java.time.ZoneOffset.UTC).withNano(0)
            + "] "
            + String.format(Locale.ROOT, format, args));
    System.out.flush();
  }
}
