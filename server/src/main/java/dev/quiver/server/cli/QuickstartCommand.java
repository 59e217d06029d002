package dev.quiver.server.cli;

import com.google.protobuf.Timestamp;
import dev.quiver.client.OnlineRequest;
import dev.quiver.client.OnlineResult;
import dev.quiver.client.QuiverClient;
import dev.quiver.proto.v1.FeatureService;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.Source;
import dev.quiver.registry.FeatureRepo;
import dev.quiver.registry.monitor.Baseline;
import dev.quiver.registry.monitor.DriftSettings;
import dev.quiver.registry.plan.Plan;
import dev.quiver.registry.plan.Planner;
import dev.quiver.registry.rows.SourcePartition;
import dev.quiver.registry.store.DirectoryRegistryStore;
import dev.quiver.server.QuiverServer;
import dev.quiver.server.RepoSettings;
import dev.quiver.server.quickstart.PaymentsEvents;
import java.io.PrintWriter;
import java.io.StringWriter;
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
      "Run the example end to end on an in-process Kafka broker.",
      "Start a real Kafka broker in-process, apply examples/payments, stream "
          + "realistic payment events through the broker, wait until they are servable, "
          + "print a lookup, and keep serving until interrupted (--exit stops after the "
          + "lookup). --shift then walks through drift: it records a training baseline of "
          + "fraud_model_v1, streams transactions whose amounts have shifted, looks the "
          + "cards up again, and prints quiver monitor drift."
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

  @Option(
      names = "--exit",
      description = "Stop after printing the lookup (with --shift: after the drift table).")
  boolean exit;

  @Option(
      names = "--shift",
      description =
          "After the lookup: export a training set of fraud_model_v1 (recording its drift"
              + " baseline), stream transactions with shifted amounts, look every card up, and"
              + " print quiver monitor drift.")
  boolean shift;

  @Option(
      names = "--shift-factor",
      paramLabel = "F",
      description =
          "With --shift: what the shifted transactions' amounts are multiplied by. Default:"
              + " ${DEFAULT-VALUE}.")
  double shiftFactor = 3.0;

  /** The service the drift walkthrough trains, serves and monitors. */
  static final String SERVICE = "fraud_model_v1";

  /** Cards and merchants the quickstart generates events for. */
  static final int CARDS = 200;

  static final int MERCHANTS = 40;

  /** The name the walkthrough records its baseline under: running it again replaces it. */
  static final String BASELINE = "quickstart";

  @Option(
      names = "--port",
      paramLabel = "PORT",
      description = "gRPC port (0: any free port). Default: ports.grpc, or any free port if taken.")
  Integer port;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    if (!(shiftFactor > 0) || Double.isInfinite(shiftFactor)) {
      throw new picocli.CommandLine.ParameterException(
          spec.commandLine(), "--shift-factor must be a positive number, not " + shiftFactor);
    }
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
                QuiverServer.portFree(settings.flightPort()) ? settings.flightPort() : 0)
            .withMetricsPort(
                settings.metricsPort() == 0 || QuiverServer.portFree(settings.metricsPort())
                    ? settings.metricsPort()
                    : QuiverServer.ANY_FREE_PORT);
    try (QuiverServer server = QuiverServer.start(serverOptions)) {
      out.printf(
          "2. Started a Kafka broker at %s and quiver serve on port %d (data in %s).%n",
          server.bootstrapServers(), server.grpcPort(), settings.dataDir());
      out.flush();

      // 3. Events through the broker.
      Instant now = Instant.now();
      PaymentsEvents generator = new PaymentsEvents(now.toEpochMilli(), CARDS, MERCHANTS);
      Map<String, String> topics = new HashMap<>();
      for (Source s : loaded.definition().getSourcesList()) {
        topics.put(s.getName(), s.getKafka().getTopic());
      }
      Map<String, Map<Integer, Long>> ends = new LinkedHashMap<>();
      long started = System.nanoTime();
      try (KafkaProducer<byte[], byte[]> producer = producer(server)) {
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
      try (QuiverClient client = client(server)) {
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
      if (shift) {
        int code =
            walkThroughDrift(server, settings, loaded, generator, topics.get("transactions"));
        if (code != 0) {
          return code;
        }
      }
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

  /**
   * The drift walkthrough, once the example's events are servable: a baseline, shifted events,
   * lookups, and the drift table. Returns the command's exit code (0 when the walkthrough ran,
   * whatever drift it shows).
   */
  private int walkThroughDrift(
      QuiverServer server,
      RepoSettings settings,
      FeatureRepo loaded,
      PaymentsEvents generator,
      String topic)
      throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    FeatureService service =
        dev.quiver.registry.FeatureServices.find(loaded.definition(), SERVICE).orElse(null);
    if (service == null) {
      err.println("error: --shift needs feature service " + SERVICE + ", which " + repo + " lacks");
      return QuiverCommand.FAILED;
    }
    int rounds = rounds(service);

    // 5. A training set of the service, which records its drift baseline.
    Path dir = settings.dataDir().resolve("quickstart");
    Files.createDirectories(dir);
    Path entities = dir.resolve("entities.csv");
    Path training = dir.resolve("training.parquet");
    Instant trainedAt = Instant.now();
    List<String> table = new ArrayList<>();
    table.add("card_id,merchant_id,event_timestamp");
    for (String[] row : entityRows(rounds)) {
      table.add(row[0] + "," + row[1] + "," + trainedAt);
    }
    Files.write(entities, table, StandardCharsets.UTF_8);
    out.printf(
        "%nDrift walkthrough%n"
            + "5. A training set of %s: every card %d times at %s (%s), exported as quiver export"
            + " does:%n"
            + "   quiver export --repo %s --service %s --entities %s --baseline %s --out %s%n",
        SERVICE, rounds, trainedAt, entities, repo, SERVICE, entities, BASELINE, training);
    out.flush();
    Ran exported =
        quiver(
            "export",
            "--repo",
            repo.toString(),
            "--service",
            SERVICE,
            "--entities",
            entities.toString(),
            "--baseline",
            BASELINE,
            "--out",
            training.toString());
    if (exported.code() != 0) {
      err.println("error: the training-set export failed; the drift walkthrough stops");
      return QuiverCommand.FAILED;
    }
    // Where quiver export recorded it: under the applied registry's project.
    String project = loaded.definition().getProject().getName();
    Path baseline = Baseline.path(settings.dataDir(), project, SERVICE, BASELINE);
    out.printf("   Baseline: %s%n", baseline);
    out.flush();

    // 6. Transactions whose amounts have shifted, newer than the training set's time.
    long started = System.nanoTime();
    Instant now = Instant.now();
    List<PaymentsEvents.Event> shifted =
        generator.transactions(
            events, now, Duration.between(trainedAt, now).plusMillis(1), shiftFactor);
    Map<Integer, Long> end;
    try (KafkaProducer<byte[], byte[]> producer = producer(server)) {
      end = send(producer, topic, shifted);
    }
    awaitIngested(server, Map.of("transactions", end));
    out.printf(
        "6. Produced %d transactions with amounts multiplied by %s to %s; servable after %.1f s.%n",
        events, shiftFactor, topic, (System.nanoTime() - started) / 1e9);
    out.flush();

    // 7. The model's lookups after the shift.
    int answered;
    try (QuiverClient client = client(server)) {
      answered = lookUpEveryCard(client, rounds);
    }
    out.printf(
        "7. Looked up %s for every card %d times (%d entity rows) through the Java client.%n",
        SERVICE, rounds, answered);

    // 8. What the server's drift profiles say.
    server.liveProfiles().refresh();
    out.printf("8. quiver monitor drift --repo %s --service %s%n", repo, SERVICE);
    out.flush();
    Ran monitor = quiver("monitor", "drift", "--repo", repo.toString(), "--service", SERVICE);
    if (!monitor.err().isEmpty()) {
      // It exits 1 on an error as on drift; an error is what it writes to stderr.
      err.println("error: quiver monitor drift could not compare the served values; see above");
      return QuiverCommand.FAILED;
    }
    int drift = monitor.code();
    out.printf(
        "%s%n",
        drift == 0
            ? "   It exits 0: no feature is at or over the alert threshold."
            : "   It exits "
                + drift
                + ": a feature is at or over the service's alert threshold (PSI "
                + DriftSettings.of(service).psiAlert()
                + "), so a CI or cron gate fails.");
    if (server.metricsPort() == 0) {
      out.printf(
          "%nNo /metrics endpoint (ports.metrics is 0), so no drift gauges for Prometheus.%n");
    } else {
      out.printf(
          "%nIn Prometheus: this server publishes quiver_feature_drift (refreshed every 10 s) on"
              + " /metrics at 127.0.0.1:%d.%n"
              + "  ./quiver alerts %s --out rules.yml%n"
              + "  cat > prometheus.yml <<'EOF'%n"
              + "  rule_files: [rules.yml]%n"
              + "  scrape_configs:%n"
              + "    - job_name: quiver%n"
              + "      static_configs: [{targets: ['127.0.0.1:%d']}]%n"
              + "  EOF%n"
              + "  prometheus --config.file=prometheus.yml%n"
              + "  Query quiver_feature_drift{service=\"%s\",statistic=\"psi\"} at"
              + " http://localhost:9090; QuiverFeatureDrift fires once a PSI has stayed at or over"
              + " %s for 15 minutes.%n",
          server.metricsPort(),
          repo,
          server.metricsPort(),
          SERVICE,
          DriftSettings.of(service).psiAlert());
    }
    if (exit) {
      out.printf(
          "The profiles stay in %s: quiver monitor drift --repo %s --service %s reads them after"
              + " this exits. Run without --exit to keep serving for Prometheus.%n",
          settings.dataDir(), repo, SERVICE);
    }
    out.flush();
    return 0;
  }

  /**
   * Lookups of each card per window so every window of the service holds its minimum sample: the
   * generated cards, this many times each.
   */
  static int rounds(FeatureService service) {
    return (int) Math.max(1, (DriftSettings.of(service).minSamples() + CARDS - 1) / CARDS);
  }

  /**
   * The entity rows of the walkthrough, {@code {card_id, merchant_id}}: every generated card {@code
   * rounds} times, each time with another merchant. The training set and the lookups use the same
   * rows, so both weigh the cards alike.
   */
  static List<String[]> entityRows(int rounds) {
    List<String[]> rows = new ArrayList<>(rounds * CARDS);
    for (int r = 0; r < rounds; r++) {
      for (int c = 0; c < CARDS; c++) {
        rows.add(
            new String[] {PaymentsEvents.card(c), PaymentsEvents.merchant((c + r) % MERCHANTS)});
      }
    }
    return rows;
  }

  /**
   * Looks {@link #SERVICE} up for the walkthrough's entity rows, one request per round; returns the
   * entity rows answered.
   */
  static int lookUpEveryCard(QuiverClient client, int rounds) {
    List<String[]> rows = entityRows(rounds);
    int answered = 0;
    for (int from = 0; from < rows.size(); from += CARDS) {
      List<Object> cards = new ArrayList<>(CARDS);
      List<Object> merchants = new ArrayList<>(CARDS);
      for (String[] row : rows.subList(from, Math.min(rows.size(), from + CARDS))) {
        cards.add(row[0]);
        merchants.add(row[1]);
      }
      client.getOnlineFeatures(
          OnlineRequest.forService(SERVICE)
              .entity("card_id", cards)
              .entity("merchant_id", merchants));
      answered += cards.size();
    }
    return answered;
  }

  /** How another quiver command ended: its exit code and what it wrote to stderr. */
  private record Ran(int code, String err) {}

  /**
   * Runs another quiver command as the quiver script would, writing to this command's output and,
   * once it has ended, its error output.
   */
  private Ran quiver(String... args) {
    picocli.CommandLine cl = QuiverCommand.commandLine();
    StringWriter err = new StringWriter();
    cl.setOut(spec.commandLine().getOut());
    cl.setErr(new PrintWriter(err, true));
    int code = cl.execute(args);
    cl.getOut().flush();
    spec.commandLine().getErr().print(err);
    spec.commandLine().getErr().flush();
    return new Ran(code, err.toString());
  }

  private static QuiverClient client(QuiverServer server) {
    return QuiverClient.builder()
        .target("localhost:" + server.grpcPort())
        .defaultDeadline(Duration.ofSeconds(5))
        .build();
  }

  private static KafkaProducer<byte[], byte[]> producer(QuiverServer server) {
    return new KafkaProducer<>(
        Map.of(
            ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
            server.bootstrapServers(),
            ProducerConfig.LINGER_MS_CONFIG,
            5),
        new ByteArraySerializer(),
        new ByteArraySerializer());
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
