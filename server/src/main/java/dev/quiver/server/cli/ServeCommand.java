package dev.quiver.server.cli;

import dev.quiver.ingestion.IngestionConfig;
import dev.quiver.online.OnlineServingService;
import dev.quiver.online.RocksOnlineStore;
import dev.quiver.registry.Durations;
import dev.quiver.registry.semantics.FutureEvents;
import dev.quiver.registry.util.Messages;
import dev.quiver.server.QuiverServer;
import dev.quiver.server.RepoSettings;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    description = {
      "Ingest the sources and serve features until interrupted.",
      "Every source of the applied registry is ingested into the online and offline "
          + "stores; features are served over gRPC (OnlineServing, Registry, health, "
          + "reflection) and training sets over Arrow Flight. Registry versions applied "
          + "while it runs take effect without a restart."
    })
final class ServeCommand implements Callable<Integer> {
  @Parameters(
      index = "0",
      arity = "0..1",
      paramLabel = "REPO",
      description = "The feature repo. Default: .")
  Path repo = Path.of(".");

  @Option(
      names = "--embedded-kafka",
      description =
          "Start a real single-node Kafka broker in this process (data in <data_dir>/kafka).")
  boolean embeddedKafka;

  @Option(
      names = "--bootstrap",
      paramLabel = "SERVERS",
      description = "Kafka bootstrap servers; overrides quiver.yaml.")
  String bootstrap;

  @Option(
      names = "--port",
      paramLabel = "PORT",
      description = "gRPC port; overrides ports.grpc (0: any free port).")
  Integer port;

  @Option(
      names = "--flight-port",
      paramLabel = "PORT",
      description =
          "Arrow Flight port for training-set export; overrides ports.flight (0: any free port).")
  Integer flightPort;

  @Option(
      names = "--metrics-port",
      paramLabel = "PORT",
      description =
          "Prometheus /metrics port on the --host address; overrides ports.metrics (default 9464;"
              + " 0 turns /metrics off).")
  Integer metricsPort;

  @Option(
      names = "--max-exports",
      paramLabel = "N",
      description = "Training-set exports over Arrow Flight at once. Default: ${DEFAULT-VALUE}.")
  int maxExports = 2;

  @Option(
      names = "--max-export-rows",
      paramLabel = "N",
      description =
          "Most entity rows of one training-set export over Arrow Flight. Default: ${DEFAULT-VALUE}.")
  long maxExportRows = QuiverServer.DEFAULT_MAX_EXPORT_ROWS;

  @Option(
      names = "--host",
      paramLabel = "ADDRESS",
      description =
          "Address to listen on for gRPC and Arrow Flight. Default: ${DEFAULT-VALUE}, this machine"
              + " only; 0.0.0.0 for every interface (the ports have no authentication).")
  String host = QuiverServer.DEFAULT_HOST;

  @Option(
      names = "--max-entities",
      paramLabel = "N",
      description = "Most entity rows per GetOnlineFeatures request. Default: ${DEFAULT-VALUE}.")
  int maxEntities = OnlineServingService.Limits.defaults().maxEntities();

  @Option(
      names = "--max-response-mb",
      paramLabel = "MB",
      description =
          "Most bytes one GetOnlineFeatures request may read from the store plus send back;"
              + " larger answers are refused with RESOURCE_EXHAUSTED. Default: ${DEFAULT-VALUE}.")
  long maxResponseMb = OnlineServingService.Limits.defaults().maxResponseBytes() >> 20;

  @Option(
      names = "--max-inflight-entities",
      paramLabel = "N",
      description =
          "Most entity rows of GetOnlineFeatures requests served at once; past it requests are"
              + " refused at once with RESOURCE_EXHAUSTED. Default: ${DEFAULT-VALUE}.")
  int maxInflightEntities = OnlineServingService.Limits.defaults().maxInflightEntities();

  @Option(
      names = "--cache-mb",
      paramLabel = "MB",
      description = "Block cache of the online store. Default: ${DEFAULT-VALUE}.")
  long cacheMb = RocksOnlineStore.DEFAULT_CACHE_BYTES / (1024 * 1024);

  @Option(
      names = "--offline-commit-seconds",
      paramLabel = "S",
      description =
          "Longest a row waits before its Parquet file is committed. Default: ${DEFAULT-VALUE}.")
  long offlineCommitSeconds = 60;

  @Option(
      names = "--export-idle-seconds",
      paramLabel = "S",
      description =
          "Longest a training-set export over Arrow Flight waits for its client (the request, the"
              + " next batch, reading the result) before it is ended and its slot freed. Default:"
              + " ${DEFAULT-VALUE}.")
  long exportIdleSeconds = QuiverServer.DEFAULT_EXPORT_IDLE.toSeconds();

  @Option(
      names = "--export-max-seconds",
      paramLabel = "S",
      description =
          "Longest one training-set export over Arrow Flight may take. Default: ${DEFAULT-VALUE}.")
  long exportMaxSeconds = QuiverServer.DEFAULT_EXPORT_TOTAL.toSeconds();

  @Option(
      names = "--max-value-bytes",
      paramLabel = "BYTES",
      description =
          "Largest computed value ingestion stores (a string's UTF-8 bytes, bytes, a list's"
              + " elements); a larger one sends the record to the dead-letter topic for that view"
              + " (value_too_large). Default: ${DEFAULT-VALUE}.")
  int maxValueBytes = IngestionConfig.DEFAULT_MAX_VALUE_BYTES;

  @Option(
      names = "--max-row-bytes",
      paramLabel = "BYTES",
      description =
          "Largest view row ingestion stores, its values together. Default: ${DEFAULT-VALUE}.")
  int maxRowBytes = IngestionConfig.DEFAULT_MAX_ROW_BYTES;

  @Option(
      names = "--max-future",
      paramLabel = "DURATION",
      description =
          "How far ahead of this server's clock an event may be stamped (e.g. 5m, 90s, 0)."
              + " Events up to it are kept, and counted online once the clock reaches them, as an"
              + " export at that time counts them; later ones go to the dead-letter topic"
              + " (future_timestamp). Default: ${DEFAULT-VALUE}.")
  String maxFuture = Durations.format(FutureEvents.DEFAULT_MAX_FUTURE);

  @Option(
      names = "--max-lag-records",
      paramLabel = "N",
      description =
          "Records a source may be behind its topic's end before the health service reports"
              + " quiver.v1.OnlineServing NOT_SERVING. Default: ${DEFAULT-VALUE}.")
  long maxLagRecords = QuiverServer.DEFAULT_MAX_LAG_RECORDS;

  @Option(
      names = "--switch-lag-records",
      paramLabel = "N",
      description =
          "Records a new view version may still have to apply, on its most behind partition, when"
              + " it takes over serving from the version before it. Default: ${DEFAULT-VALUE}.")
  long switchLagRecords = QuiverServer.DEFAULT_SWITCH_LAG_RECORDS;

  @Spec CommandSpec spec;

  /**
   * The options the flags ask for. The settings check their own values (each names its flag); a
   * value they refuse is a usage error here.
   */
  private QuiverServer.Options options(RepoSettings settings) {
    if (maxResponseMb < 1 || maxResponseMb > 1 << 20) {
      throw usage("--max-response-mb must be from 1 to " + (1 << 20) + ", got " + maxResponseMb);
    }
    java.time.Duration future =
        Durations.parse(maxFuture)
            .orElseThrow(
                () ->
                    usage(
                        "--max-future must be "
                            + Durations.EXPECTED
                            + ", got "
                            + Messages.quote(maxFuture)));
    if (metricsPort != null && (metricsPort < 0 || metricsPort > 65535)) {
      throw usage("--metrics-port must be 0 (no metrics endpoint) to 65535, got " + metricsPort);
    }
    try {
      return QuiverServer.Options.defaults(settings)
          .withFutureEvents(FutureEvents.allowing(future))
          .withEmbeddedKafka(embeddedKafka)
          .withBootstrap(bootstrap)
          .withGrpcPort(port)
          .withFlightPort(flightPort)
          .withMetricsPort(metricsPort)
          .withMaxConcurrentExports(maxExports)
          .withMaxExportRows(maxExportRows)
          .withLookupLimits(
              new OnlineServingService.Limits(
                  maxEntities,
                  maxResponseMb << 20,
                  maxInflightEntities,
                  OnlineServingService.Limits.defaults().inlineEntities()))
          .withIngestionLimits(new IngestionConfig.Limits(maxValueBytes, maxRowBytes))
          .withMaxLagRecords(maxLagRecords)
          .withSwitchLagRecords(switchLagRecords)
          .withExportTimeouts(
              java.time.Duration.ofSeconds(exportIdleSeconds),
              java.time.Duration.ofSeconds(exportMaxSeconds))
          .withHost(host)
          .withCacheBytes(cacheMb * 1024L * 1024L)
          .withOfflineCommitInterval(java.time.Duration.ofSeconds(offlineCommitSeconds));
    } catch (IllegalArgumentException e) {
      throw usage(e.getMessage());
    }
  }

  private picocli.CommandLine.ParameterException usage(String message) {
    return new picocli.CommandLine.ParameterException(spec.commandLine(), message);
  }

  @Override
  public Integer call() throws Exception {
    RepoSettings settings = RepoSettings.read(repo);
    QuiverServer server = QuiverServer.start(options(settings));
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.close();
                  stop.countDown();
                },
                "quiver-shutdown"));
    spec.commandLine()
        .getOut()
        .printf(
            "quiver serve: gRPC on %s:%d, Arrow Flight on port %d, Kafka at %s, registry version"
                + " %d. Ctrl-C to stop.%n",
            host,
            server.grpcPort(),
            server.flightPort(),
            server.bootstrapServers(),
            server.servedRegistryVersion());
    spec.commandLine().getOut().flush();
    stop.await();
    return 0;
  }
}
