package dev.quiver.server.cli;

import com.google.protobuf.Timestamp;
import dev.quiver.client.OnlineRequest;
import dev.quiver.client.OnlineResult;
import dev.quiver.client.QuiverClient;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.Source;
import dev.quiver.registry.FeatureRepo;
import dev.quiver.registry.plan.Plan;
import dev.quiver.registry.plan.Planner;
import dev.quiver.registry.rows.SourcePartition;
import dev.quiver.registry.store.DirectoryRegistryStore;
import dev.quiver.server.QuiverServer;
import dev.quiver.server.RepoSettings;
import dev.quiver.server.quickstart.PaymentsEvents;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
    name = "quickstart",
    mixinStandardHelpOptions = true,
    description = {
      "Start a real Kafka broker in-process, apply examples/payments, stream realistic payment",
      "events through the broker, wait until they are servable, print a lookup, and keep serving",
      "until interrupted (--exit stops after the lookup)."
    })
final class QuickstartCommand implements Callable<Integer> {
  @Option(
      names = "--repo",
      paramLabel = "REPO",
      description = "The example repo. Default: ${DEFAULT-VALUE}.")
  Path repo = Path.of("examples/payments");

  @Option(
      names = "--events",
      paramLabel = "N",
      description = "Transactions to generate. Default: ${DEFAULT-VALUE}.")
  int events = 20_000;

  @Option(names = "--exit", description = "Stop after printing the lookup.")
  boolean exit;

  @Option(
      names = "--port",
      paramLabel = "PORT",
      description = "gRPC port (0: any free port). Default: ports.grpc, or any free port if taken.")
  Integer port;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    if (!Files.isRegularFile(repo.resolve("quiver.yaml"))) {
      spec.commandLine()
          .getErr()
          .println(
              "error: no feature repo at "
                  + repo
                  + "; run from the repository root or pass --repo");
      return QuiverCommand.FAILED;
    }
    // 1. Apply the example.
    RepoOptions options = new RepoOptions();
    options.repo = repo;
    FeatureRepo loaded;
    try {
      loaded = options.load(spec.commandLine().getErr());
    } catch (RepoOptions.ValidationFailed e) {
      return QuiverCommand.FAILED;
    }
    RepoSettings settings = RepoSettings.read(repo);
    DirectoryRegistryStore store = new DirectoryRegistryStore(settings.registryDir());
    RegistrySnapshot applied = store.latest().orElse(RegistrySnapshot.getDefaultInstance());
    Plan plan = Planner.plan(applied, loaded, false);
    if (!plan.canApply()) {
      spec.commandLine()
          .getErr()
          .println("error: the example's plan is refused: " + plan.refusals());
      return QuiverCommand.FAILED;
    }
    long version = applied.getVersion();
    if (!plan.isEmpty()) {
      Instant t = Instant.now();
      version =
          store
              .apply(
                  applied.getVersion(),
                  plan.next().toBuilder()
                      .setAppliedAt(Timestamp.newBuilder().setSeconds(t.getEpochSecond()))
                      .setAppliedBy("quickstart")
                      .setSummary(plan.summary())
                      .build())
              .getVersion();
    }
    if (plan.isEmpty()) {
      out.printf("1. Registry version %d already holds %s.%n", version, repo);
    } else {
      out.printf("1. Applied %s as registry version %d (%s).%n", repo, version, plan.summary());
    }
    out.flush();

    // 2. A real broker and the server.
    int grpcPort =
        port != null
            ? port
            : (QuiverServer.portFree(settings.grpcPort()) ? settings.grpcPort() : 0);
    QuiverServer.Options serverOptions =
        QuiverServer.Options.defaults(settings)
            .withEmbeddedKafka(true)
            .withGrpcPort(grpcPort)
            .withFlightPort(
                QuiverServer.portFree(settings.flightPort()) ? settings.flightPort() : 0);
    try (QuiverServer server = QuiverServer.start(serverOptions)) {
      out.printf(
          "2. Started a Kafka broker at %s and quiver serve on port %d (data in %s).%n",
          server.bootstrapServers(), server.grpcPort(), settings.dataDir());
      out.flush();

      // 3. Events through the broker.
      Instant now = Instant.now();
      PaymentsEvents generator = new PaymentsEvents(now.toEpochMilli(), 200, 40);
      Map<String, String> topics = new HashMap<>();
      for (Source s : loaded.definition().getSourcesList()) {
        topics.put(s.getName(), s.getKafka().getTopic());
      }
      Map<String, Map<Integer, Long>> ends = new LinkedHashMap<>();
      long started = System.nanoTime();
      try (KafkaProducer<byte[], byte[]> producer =
          new KafkaProducer<>(
              Map.of(
                  ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                  server.bootstrapServers(),
                  ProducerConfig.LINGER_MS_CONFIG,
                  5),
              new ByteArraySerializer(),
              new ByteArraySerializer())) {
        ends.put(
            "transactions",
            send(
                producer,
                topics.get("transactions"),
                generator.transactions(events, now, Duration.ofHours(3))));
        ends.put(
            "chargebacks",
            send(
                producer,
                topics.get("chargebacks"),
                generator.chargebacks(Math.max(1, events / 50), now, Duration.ofDays(20))));
      }
      out.printf(
          "3. Produced %d transactions to %s and %d chargebacks to %s.%n",
          events, topics.get("transactions"), Math.max(1, events / 50), topics.get("chargebacks"));
      out.flush();

      // 4. Wait until every event is servable.
      awaitIngested(server, ends);
      // Commit the offline files now rather than within the minute, so exports see every event.
      server.offlineStore().commitAll();
      out.printf("4. Ingested and servable after %.1f s.%n%n", (System.nanoTime() - started) / 1e9);

      // 5. A lookup through the Java client.
      List<String> cards = new ArrayList<>();
      List<String> merchants = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        cards.add(PaymentsEvents.card(i));
        merchants.add(PaymentsEvents.merchant(i));
      }
      try (QuiverClient client =
          QuiverClient.builder()
              .target("localhost:" + server.grpcPort())
              .defaultDeadline(Duration.ofSeconds(5))
              .build()) {
        OnlineResult r =
            client.getOnlineFeatures(
                OnlineRequest.forService("fraud_model_v1")
                    .entity("card_id", new ArrayList<Object>(cards))
                    .entity("merchant_id", new ArrayList<Object>(merchants)));
        out.println("GetOnlineFeatures(fraud_model_v1):");
        Map<String, List<String>> keys = new LinkedHashMap<>();
        keys.put("card_id", cards);
        keys.put("merchant_id", merchants);
        GetCommand.print(out, keys, r);
      }
      out.printf(
          "%nTry it yourself while this runs:%n"
              + "  ./quiver get --repo %s --service fraud_model_v1 --entity card_id=card_0001 --entity merchant_id=m_007%n"
              + "  python3 examples/flight/training_set.py grpc://localhost:%d   # a training set over Arrow Flight (pyarrow)%n",
          repo, server.flightPort());
      out.flush();
      if (exit) {
        return 0;
      }
      out.println("Serving until Ctrl-C.");
      out.flush();
      CountDownLatch stop = new CountDownLatch(1);
      Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown));
      stop.await();
      return 0;
    }
  }

  private static Map<Integer, Long> send(
      KafkaProducer<byte[], byte[]> producer, String topic, List<PaymentsEvents.Event> events)
      throws Exception {
    List<Future<RecordMetadata>> sent = new ArrayList<>(events.size());
    for (PaymentsEvents.Event e : events) {
      sent.add(
          producer.send(
              new ProducerRecord<>(
                  topic,
                  e.key().getBytes(StandardCharsets.UTF_8),
                  e.json().getBytes(StandardCharsets.UTF_8))));
    }
    producer.flush();
    Map<Integer, Long> end = new HashMap<>();
    for (Future<RecordMetadata> f : sent) {
      RecordMetadata m = f.get();
      end.merge(m.partition(), m.offset() + 1, Math::max);
    }
    return end;
  }

  private static void awaitIngested(QuiverServer server, Map<String, Map<Integer, Long>> ends)
      throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
    while (true) {
      Map<String, Map<SourcePartition, Long>> applied = server.applied();
      boolean done =
          ends.entrySet().stream()
              .allMatch(
                  e ->
                      e.getValue().entrySet().stream()
                          .allMatch(
                              p ->
                                  applied.getOrDefault(e.getKey(), Map.of()).entrySet().stream()
                                      .anyMatch(
                                          a ->
                                              a.getKey().partition() == p.getKey()
                                                  && a.getValue() >= p.getValue())));
      if (done) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "events were not ingested within 2 minutes; applied: " + applied);
      }
      Thread.sleep(50);
    }
  }
}
