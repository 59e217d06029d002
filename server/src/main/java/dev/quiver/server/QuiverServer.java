package dev.quiver.server;

import dev.quiver.ingestion.Ingestion;
import dev.quiver.ingestion.IngestionConfig;
import dev.quiver.kafka.EmbeddedKafka;
import dev.quiver.offline.ParquetOfflineSink;
import dev.quiver.online.InvalidRequests;
import dev.quiver.online.LookupListener;
import dev.quiver.online.OnlineServingService;
import dev.quiver.online.OnlineStore;
import dev.quiver.online.RocksOnlineStore;
import dev.quiver.online.ServingCatalog;
import dev.quiver.proto.v1.FeatureView;
import dev.quiver.proto.v1.OnlineServingGrpc;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.Source;
import dev.quiver.registry.logic.FeatureLogic;
import dev.quiver.registry.monitor.FeatureLog;
import dev.quiver.registry.rows.SourceArchive;
import dev.quiver.registry.rows.SourcePartition;
import dev.quiver.registry.rows.ViewId;
import dev.quiver.registry.semantics.FutureEvents;
import dev.quiver.registry.semantics.Micros;
import dev.quiver.registry.semantics.OfflineLayout;
import dev.quiver.registry.store.DirectoryRegistryStore;
import dev.quiver.registry.store.RegistryGrpcService;
import dev.quiver.registry.util.RepeatingFailureLog;
import dev.quiver.server.metrics.AppliedRowsSink;
import dev.quiver.server.metrics.GrpcMetrics;
import dev.quiver.server.metrics.IngestionMetrics;
import dev.quiver.server.metrics.LookupMetrics;
import dev.quiver.server.metrics.MetricsEndpoint;
import dev.quiver.server.monitor.ConsistencyResults;
import dev.quiver.server.monitor.FeatureLogger;
import dev.quiver.server.monitor.LiveProfiles;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.Writer;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.arrow.flight.FlightGrpcUtils;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code quiver serve} process: optionally an embedded Kafka broker, ingestion of every source
 * of the applied registry into the RocksDB online store and the Parquet offline store, and the gRPC
 * endpoint (OnlineServing, Registry, health checking, reflection), and Prometheus metrics on {@code
 * /metrics} (docs/monitoring.md). It follows the registry store: a version applied while it runs
 * takes effect without a restart.
 *
 * <p>Created by {@link #start}; {@link #close()} stops everything in reverse order of start.
 */
public final class QuiverServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(QuiverServer.class);

  /**
   * How to run. Immutable: each {@code with...} method returns a changed copy (as gRPC's
   * CallOptions do).
   */
  public static final class Options {
    private final RepoSettings settings;
    private boolean embeddedKafka;
    private String bootstrap;
    private Integer grpcPort;
    private Integer flightPort;
    private Integer metricsPort;
    private MeterRegistry meters;
    private String host = DEFAULT_HOST;
    private OnlineServingService.Limits lookupLimits = OnlineServingService.Limits.defaults();
    private IngestionConfig.Limits ingestionLimits = IngestionConfig.Limits.defaults();
    private long maxLagRecords = DEFAULT_MAX_LAG_RECORDS;
    private long switchLagRecords = DEFAULT_SWITCH_LAG_RECORDS;
    private Duration healthInterval = Duration.ofSeconds(1);
    private Duration registryPoll = Duration.ofMillis(500);
    private Clock clock = Clock.systemUTC();
    private FutureEvents futureEvents = FutureEvents.defaults();
    private long cacheBytes = RocksOnlineStore.DEFAULT_CACHE_BYTES;
    private Duration offlineCommitInterval = ParquetOfflineSink.Limits.defaults().maxFileAge();
    private int maxConcurrentExports = 2;
    private long maxExportRows = DEFAULT_MAX_EXPORT_ROWS;
    private Duration exportIdleTimeout = FlightExportService.Limits.DEFAULT_IDLE;
    private Duration exportTotalTimeout = FlightExportService.Limits.DEFAULT_TOTAL;
    private Duration monitorInterval = Duration.ofSeconds(10);

    private Options(RepoSettings settings) {
      this.settings = java.util.Objects.requireNonNull(settings, "settings");
    }

    private Options copy() {
      Options c = new Options(settings);
      c.embeddedKafka = embeddedKafka;
      c.bootstrap = bootstrap;
      c.grpcPort = grpcPort;
      c.flightPort = flightPort;
      c.metricsPort = metricsPort;
      c.meters = meters;
      c.host = host;
      c.lookupLimits = lookupLimits;
      c.ingestionLimits = ingestionLimits;
      c.maxLagRecords = maxLagRecords;
      c.switchLagRecords = switchLagRecords;
      c.healthInterval = healthInterval;
      c.registryPoll = registryPoll;
      c.clock = clock;
      c.futureEvents = futureEvents;
      c.cacheBytes = cacheBytes;
      c.offlineCommitInterval = offlineCommitInterval;
      c.maxConcurrentExports = maxConcurrentExports;
      c.maxExportRows = maxExportRows;
      c.exportIdleTimeout = exportIdleTimeout;
      c.exportTotalTimeout = exportTotalTimeout;
      c.monitorInterval = monitorInterval;
      return c;
    }

    /**
     * Settings of quiver.yaml, no embedded broker, loopback only ({@value #DEFAULT_HOST}), the
     * default lookup limits.
     */
    public static Options defaults(RepoSettings settings) {
      return new Options(settings);
    }

    /**
     * How often served values are compared with the training baselines (drift gauges, the profiles
     * {@code quiver monitor drift} reads). Default 10 s.
     */
    public Options withMonitorInterval(Duration interval) {
      if (interval.isNegative() || interval.isZero()) {
        throw new IllegalArgumentException(
            "the monitor interval must be positive, got " + interval);
      }
      Options c = copy();
      c.monitorInterval = interval;
      return c;
    }

    /** Start a broker in-process with its data in {@code <data_dir>/kafka}. */
    public Options withEmbeddedKafka(boolean on) {
      Options c = copy();
      c.embeddedKafka = on;
      return c;
    }

    /** Kafka bootstrap servers overriding quiver.yaml; null keeps it. */
    public Options withBootstrap(String servers) {
      Options c = copy();
      c.bootstrap = servers;
      return c;
    }

    /** Serving port overriding ports.grpc; null keeps it, 0 takes any free port. */
    public Options withGrpcPort(Integer port) {
      Options c = copy();
      c.grpcPort = port;
      return c;
    }

    /** Arrow Flight port overriding ports.flight; null keeps it, 0 takes any free port. */
    public Options withFlightPort(Integer port) {
      Options c = copy();
      c.flightPort = port;
      return c;
    }

    /**
     * Prometheus {@code /metrics} port overriding ports.metrics; null keeps it, 0 turns the
     * endpoint off, {@link #ANY_FREE_PORT} takes any free port.
     */
    public Options withMetricsPort(Integer port) {
      if (port != null && (port < ANY_FREE_PORT || port > 65535)) {
        throw new IllegalArgumentException(
            "--metrics-port must be 0 (no metrics endpoint) to 65535, got " + port);
      }
      Options c = copy();
      c.metricsPort = port;
      return c;
    }

    /**
     * The registry every meter of the server goes to; null (the default) for a Prometheus registry
     * of the server's own, closed with it. A registry given here stays the caller's (it is not
     * closed); {@code /metrics} serves it only if it is a {@link PrometheusMeterRegistry}.
     */
    public Options withMeterRegistry(MeterRegistry registry) {
      Options c = copy();
      c.meters = registry;
      return c;
    }

    /**
     * Address to listen on for gRPC and Arrow Flight. The default, {@value #DEFAULT_HOST}, accepts
     * connections from this machine only: the ports have no authentication, so listening on other
     * interfaces ({@code 0.0.0.0}) is a choice to make on purpose.
     */
    public Options withHost(String address) {
      Options c = copy();
      c.host = address;
      return c;
    }

    /** Entity rows allowed per request. */
    public Options withMaxEntities(int max) {
      Options c = copy();
      c.lookupLimits = lookupLimits.withMaxEntities(max);
      return c;
    }

    /** The largest value and view row ingestion stores; larger ones are dead letters. */
    public Options withIngestionLimits(IngestionConfig.Limits limits) {
      Options c = copy();
      c.ingestionLimits = java.util.Objects.requireNonNull(limits, "limits");
      return c;
    }

    /**
     * Records a source may be behind the log end before {@code quiver.v1.OnlineServing} reports
     * {@code NOT_SERVING} to health checks.
     */
    public Options withMaxLagRecords(long max) {
      if (max < 0) {
        throw new IllegalArgumentException("--max-lag-records must not be negative, got " + max);
      }
      Options c = copy();
      c.maxLagRecords = max;
      return c;
    }

    /**
     * Records a new view version may still have to apply, on its most behind partition, when it
     * takes over from the version before it (docs/history.md).
     */
    public Options withSwitchLagRecords(long max) {
      if (max < 0) {
        throw new IllegalArgumentException("--switch-lag-records must not be negative, got " + max);
      }
      Options c = copy();
      c.switchLagRecords = max;
      return c;
    }

    /** How often ingestion's health is carried into the gRPC health service. */
    public Options withHealthInterval(Duration interval) {
      Options c = copy();
      c.healthInterval = interval;
      return c;
    }

    /** Bounds on lookups: entity rows per request, bytes per response, entity rows in flight. */
    public Options withLookupLimits(OnlineServingService.Limits limits) {
      Options c = copy();
      c.lookupLimits = java.util.Objects.requireNonNull(limits, "limits");
      return c;
    }

    /** How often to look for a newly applied registry version. */
    public Options withRegistryPoll(Duration poll) {
      Options c = copy();
      c.registryPoll = poll;
      return c;
    }

    /** The online store's block cache. */
    public Options withCacheBytes(long bytes) {
      Options c = copy();
      c.cacheBytes = bytes;
      return c;
    }

    /** The longest a row waits in an open offline file before its view commits. */
    public Options withOfflineCommitInterval(Duration interval) {
      Options c = copy();
      c.offlineCommitInterval = interval;
      return c;
    }

    /** Training-set exports over Arrow Flight that may run at once. */
    public Options withMaxConcurrentExports(int max) {
      if (max < 1) {
        throw new IllegalArgumentException("at least one export must be allowed: " + max);
      }
      Options c = copy();
      c.maxConcurrentExports = max;
      return c;
    }

    /** Entity rows one training-set export over Arrow Flight may send. */
    public Options withMaxExportRows(long max) {
      if (max < 1) {
        throw new IllegalArgumentException("the export row limit must be positive: " + max);
      }
      Options c = copy();
      c.maxExportRows = max;
      return c;
    }

    /**
     * Time limits of one training-set export over Arrow Flight: {@code idle}, the longest the
     * server waits for the client's next message (default 60 s); {@code total}, the longest one
     * export may take (default 1 h). An export past either fails and frees its slot.
     */
    public Options withExportTimeouts(Duration idle, Duration total) {
      FlightExportService.Limits.checkTimeouts(idle, total);
      Options c = copy();
      c.exportIdleTimeout = idle;
      c.exportTotalTimeout = total;
      return c;
    }

    /**
     * How far ahead of the clock an event may be stamped before it is a dead letter ({@code
     * future_timestamp}); {@code quiver serve --max-future}.
     */
    public Options withFutureEvents(FutureEvents policy) {
      Options c = copy();
      c.futureEvents = java.util.Objects.requireNonNull(policy, "policy");
      return c;
    }

    /**
     * The clock: the time lookups answer as of (TTLs, windows, rows not yet visible), and the time
     * ingestion measures future-stamped events against.
     */
    public Options withClock(Clock requestClock) {
      Options c = copy();
      c.clock = requestClock;
      return c;
    }

    public RepoSettings settings() {
      return settings;
    }
  }

  /** For {@link Options#withMetricsPort}: serve {@code /metrics} on any free port. */
  public static final int ANY_FREE_PORT = -1;

  /** Records a source may lag before lookups report NOT_SERVING, unless configured otherwise. */
  public static final long DEFAULT_MAX_LAG_RECORDS = 100_000;

  /** Records a new view version may be behind when it takes over serving, unless configured. */
  public static final long DEFAULT_SWITCH_LAG_RECORDS = 1_000;

  /** How long a Flight export may wait for its client unless configured otherwise. */
  public static final Duration DEFAULT_EXPORT_IDLE = FlightExportService.Limits.DEFAULT_IDLE;

  /** How long one Flight export may take unless configured otherwise. */
  public static final Duration DEFAULT_EXPORT_TOTAL = FlightExportService.Limits.DEFAULT_TOTAL;

  /** The address quiver serve listens on unless told otherwise: this machine only. */
  public static final String DEFAULT_HOST = "127.0.0.1";

  /** Entity rows one Flight export may send unless configured otherwise. */
  public static final long DEFAULT_MAX_EXPORT_ROWS = 100_000_000L;

  private final Options options;
  private final List<AutoCloseable> resources = new ArrayList<>();
  private final AtomicReference<ServingCatalog> catalog =
      new AtomicReference<>(ServingCatalog.of(RegistrySnapshot.getDefaultInstance()));
  private final MeterRegistry meters;
  private IngestionMetrics ingestionMetrics;
  private String project;
  private LiveProfiles liveProfiles;
  private ServingVersions servingVersions;
  private dev.quiver.server.backfill.Backfills backfills;
  private Map<String, Integer> servingInstead = Map.of();
  private AppliedRowsSink appliedOnline;
  private ParquetOfflineSink featureLogStore;
  private Ingestion featureLogIngestion;
  private FeatureLogger featureLogger;
  private MetricsEndpoint metricsEndpoint;
  private EmbeddedKafka kafka;
  private String bootstrap;
  private DirectoryRegistryStore registry;
  private OnlineStore online;
  private ParquetOfflineSink offline;
  private Ingestion ingestion;
  private Server grpc;
  private Server flightServer;
  private HealthStatusManager health;
  private ScheduledExecutorService watcher;
  private final RepeatingFailureLog registryFailures =
      new RepeatingFailureLog(LOG, "registry", Duration.ofMinutes(1));
  private final RepeatingFailureLog healthFailures =
      new RepeatingFailureLog(LOG, "health", Duration.ofMinutes(1));
  private volatile long servedVersion;
  private volatile ServingStatus lookupHealth = ServingStatus.SERVING;
  private volatile String lookupHealthReasons = "";
  private volatile RegistrySnapshot servedSnapshot = RegistrySnapshot.getDefaultInstance();

  private QuiverServer(Options options) {
    this.options = options;
    if (options.meters != null) {
      this.meters = options.meters;
    } else {
      PrometheusMeterRegistry own = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      resources.add(own::close);
      this.meters = own;
    }
  }

  public static QuiverServer start(Options options) throws IOException {
    QuiverServer s = new QuiverServer(options);
    try {
      s.startAll();
      return s;
    } catch (IOException | RuntimeException e) {
      s.close();
      throw e;
    }
  }

  private void startAll() throws IOException {
    RepoSettings settings = options.settings;
    Files.createDirectories(settings.dataDir());
    bindProcessMetrics();
    bootstrap = options.bootstrap != null ? options.bootstrap : settings.bootstrap();
    if (options.embeddedKafka) {
      int preferred = portOf(settings.bootstrap());
      kafka =
          EmbeddedKafka.start(
              settings.dataDir().resolve("kafka"), portFree(preferred) ? preferred : 0);
      resources.add(kafka);
      bootstrap = kafka.bootstrapServers();
      LOG.info("embedded Kafka broker at {} (data in {})", bootstrap, kafka.directory());
    }
    registry = new DirectoryRegistryStore(settings.registryDir());
    online = RocksOnlineStore.open(settings.dataDir().resolve("online"), options.cacheBytes);
    resources.add(online);
    new dev.quiver.server.metrics.RocksDbMetrics(online).bindTo(meters);
    project = settings.project().isEmpty() ? "default" : settings.project();
    ParquetOfflineSink.Limits offlineLimits =
        new ParquetOfflineSink.Limits(
            ParquetOfflineSink.Limits.defaults().maxFileBytes(), options.offlineCommitInterval);
    offline =
        new ParquetOfflineSink(
            OfflineLayout.projectRoot(settings.dataDir(), project),
            offlineLimits,
            Clock.systemUTC());
    resources.add(offline);
    appliedOnline = new AppliedRowsSink(online, meters, options.clock);
    IngestionConfig ingestionConfig =
        IngestionConfig.defaults(bootstrap, project)
            .withMemberId(memberId(settings))
            .withLimits(options.ingestionLimits)
            .withFuture(new IngestionConfig.Future(options.clock, options.futureEvents));
    // New views, and new versions of views, are filled from the source archive first.
    ingestion =
        new Ingestion(
            ingestionConfig,
            List.of(appliedOnline, offline),
            meters,
            new dev.quiver.offline.SourceArchiveReader(offline));
    ingestionMetrics = new IngestionMetrics(meters);
    servingVersions =
        new ServingVersions(
            settings.dataDir(), options.switchLagRecords, Clock.systemUTC(), meters);
    resources.add(ingestion);
    // The feature log: served vectors of services with logging, read back from their topics into
    // a store of their own, exactly once like any source (docs/monitoring.md).
    featureLogStore =
        new ParquetOfflineSink(
            OfflineLayout.featureLogRoot(settings.dataDir(), project),
            offlineLimits,
            Clock.systemUTC());
    resources.add(featureLogStore);
    featureLogIngestion =
        new Ingestion(
            ingestionConfig
                .withMemberId(memberId(settings) + "-feature-log")
                // The log is not read against a clock: fetch in large batches, seldom, so reading
                // it back costs the server little however often it is written.
                .withClientOverrides(
                    Map.of(
                        org.apache.kafka.clients.consumer.ConsumerConfig.FETCH_MIN_BYTES_CONFIG,
                        256 * 1024,
                        org.apache.kafka.clients.consumer.ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG,
                        1_000)),
            List.of(featureLogStore),
            meters);
    resources.add(featureLogIngestion);
    featureLogger =
        new FeatureLogger(bootstrap, project, meters, appliedOnline::newestAppliedMicros);
    resources.add(featureLogger);

    BufferAllocator flightMemory = new RootAllocator();
    resources.add(flightMemory);
    ExecutorService flightThreads =
        Executors.newCachedThreadPool(
            r -> {
              Thread t = new Thread(r, "quiver-flight");
              t.setDaemon(true);
              return t;
            });
    resources.add(flightThreads::shutdownNow);
    Path offlineRoot = OfflineLayout.projectRoot(settings.dataDir(), project);
    FlightExportService flight =
        new FlightExportService(
            () -> servedSnapshot,
            () -> offlineRoot,
            settings.dataDir().resolve("exports"),
            flightMemory,
            new FlightExportService.Limits(
                options.maxConcurrentExports,
                options.maxExportRows,
                1_000_000,
                options.exportIdleTimeout,
                options.exportTotalTimeout),
            meters,
            new ServiceBaselines(settings.dataDir(), project, Clock.systemUTC()));
    resources.add(flight::close);

    health = new HealthStatusManager();
    int port = options.grpcPort != null ? options.grpcPort : settings.grpcPort();
    // Lookups too large to run on the transport threads; their number in flight is bounded by the
    // service's admission, so the queue is too.
    ExecutorService lookupThreads =
        Executors.newFixedThreadPool(
            Runtime.getRuntime().availableProcessors(),
            r -> {
              Thread t = new Thread(r, "quiver-lookup");
              t.setDaemon(true);
              return t;
            });
    resources.add(lookupThreads::shutdownNow);
    GrpcMetrics grpcMetrics = new GrpcMetrics(meters);
    liveProfiles = new LiveProfiles(settings.dataDir(), project, meters, options.clock);
    grpc =
        NettyServerBuilder.forAddress(new InetSocketAddress(options.host, port))
            // Lookups are short reads from RocksDB's cache and memory: run them on the transport
            // threads rather than handing each call to another thread.
            .directExecutor()
            .addService(
                ServerInterceptors.intercept(
                    new OnlineServingService(
                        online,
                        catalog::get,
                        options.clock,
                        options.lookupLimits,
                        lookupThreads,
                        LookupListener.all(
                            List.of(new LookupMetrics(meters), liveProfiles, featureLogger))),
                    grpcMetrics))
            .addService(
                ServerInterceptors.intercept(
                    InvalidRequests.parseFailuresAsInvalidArgument(
                        new RegistryGrpcService(registry).bindService()),
                    grpcMetrics))
            // Flight on this port too, so the Java client exports over its one connection.
            .addService(
                ServerInterceptors.intercept(
                    flightService(flightMemory, flight, flightThreads), grpcMetrics))
            .addService(ServerInterceptors.intercept(health.getHealthService(), grpcMetrics))
            .addService(ProtoReflectionServiceV1.newInstance())
            .build();
    try {
      grpc.start();
    } catch (IOException e) {
      throw new IOException(
          "cannot listen on "
              + options.host
              + ":"
              + port
              + " ("
              + e.getMessage()
              + "); choose another with --port or ports.grpc in quiver.yaml",
          e);
    }
    resources.add(() -> stop(grpc));
    int flightPort = options.flightPort != null ? options.flightPort : settings.flightPort();
    // Flight's own port runs on unshaded Netty, where Flight writes record batches without copying.
    flightServer =
        io.grpc.netty.NettyServerBuilder.forAddress(new InetSocketAddress(options.host, flightPort))
            .addService(flightService(flightMemory, flight, flightThreads))
            .addService(health.getHealthService())
            .build();
    try {
      flightServer.start();
    } catch (IOException e) {
      throw new IOException(
          "cannot listen for Arrow Flight on "
              + options.host
              + ":"
              + flightPort
              + " ("
              + e.getMessage()
              + "); choose another with --flight-port or ports.flight in quiver.yaml",
          e);
    }
    resources.add(() -> stop(flightServer));
    startMetricsEndpoint(settings);
    refreshRegistry();
    health.setStatus("", ServingStatus.SERVING);
    health.setStatus(OnlineServingGrpc.SERVICE_NAME, ServingStatus.SERVING);
    watcher =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "quiver-registry-watch");
              t.setDaemon(true);
              return t;
            });
    long poll = options.registryPoll.toMillis();
    watcher.scheduleWithFixedDelay(this::refreshQuietly, poll, poll, TimeUnit.MILLISECONDS);
    long check = options.healthInterval.toMillis();
    watcher.scheduleWithFixedDelay(this::updateHealth, check, check, TimeUnit.MILLISECONDS);
    long monitor = options.monitorInterval.toMillis();
    ConsistencyResults consistency = new ConsistencyResults(settings.dataDir(), project, meters);
    watcher.scheduleWithFixedDelay(
        () -> {
          liveProfiles.refresh();
          consistency.refresh();
        },
        0,
        monitor,
        TimeUnit.MILLISECONDS);
    backfills =
        new dev.quiver.server.backfill.Backfills(
            settings.dataDir(), appliedOnline, offline, () -> servedSnapshot);
    resources.add(backfills);
    watcher.scheduleWithFixedDelay(backfills::poll, 0, 1, TimeUnit.SECONDS);
    watcher.scheduleWithFixedDelay(
        this::applyArchiveRetention,
        0,
        ARCHIVE_RETENTION_INTERVAL.toMillis(),
        TimeUnit.MILLISECONDS);
    resources.add(watcher::shutdownNow);
    writeEndpoints();
    LOG.info(
        "serving on {}:{} (registry version {}, Kafka {})",
        options.host,
        grpcPort(),
        servedVersion,
        bootstrap);
    if (isLoopback(options.host)) {
      LOG.info(
          "gRPC and Arrow Flight accept connections from this machine only ({}); to serve other"
              + " machines, pass --host 0.0.0.0 (the ports have no authentication)",
          options.host);
    } else {
      LOG.warn(
          "gRPC and Arrow Flight listen on {} without authentication: anyone who can reach these"
              + " ports can read every feature and export training sets",
          options.host);
    }
  }

  /** JVM meters, and the registry version in effect. */
  private void bindProcessMetrics() {
    new JvmMemoryMetrics().bindTo(meters);
    JvmGcMetrics gc = new JvmGcMetrics();
    gc.bindTo(meters);
    resources.add(gc);
    new JvmThreadMetrics().bindTo(meters);
    new ClassLoaderMetrics().bindTo(meters);
    new ProcessorMetrics().bindTo(meters);
    Gauge.builder("quiver.registry.version", this, s -> s.servedVersion)
        .description("The registry version in effect (0 before one is applied)")
        .register(meters);
  }

  private void startMetricsEndpoint(RepoSettings settings) throws IOException {
    int port = options.metricsPort != null ? options.metricsPort : settings.metricsPort();
    if (port == 0) {
      LOG.info("no /metrics endpoint (ports.metrics or --metrics-port is 0)");
      return;
    }
    if (!(meters instanceof PrometheusMeterRegistry prometheus)) {
      LOG.info("no /metrics endpoint: the server was given a registry that is not Prometheus's");
      return;
    }
    try {
      metricsEndpoint =
          MetricsEndpoint.start(options.host, port == ANY_FREE_PORT ? 0 : port, prometheus);
    } catch (IOException e) {
      throw new IOException(
          "cannot listen for /metrics on "
              + options.host
              + ":"
              + port
              + " ("
              + e.getMessage()
              + "); choose another with --metrics-port or ports.metrics in quiver.yaml (0 turns"
              + " it off)",
          e);
    }
    resources.add(metricsEndpoint);
    LOG.info("Prometheus metrics at http://{}:{}/metrics", options.host, metricsEndpoint.port());
  }

  /** The port of {@code /metrics}, or 0 when there is no metrics endpoint. */
  public int metricsPort() {
    return metricsEndpoint == null ? 0 : metricsEndpoint.port();
  }

  private void refreshQuietly() {
    try {
      refreshRegistry();
      registryFailures.success();
    } catch (IOException | RuntimeException e) {
      registryFailures.failure(
          "applying the new registry version failed ("
              + e
              + "); still serving version "
              + servedVersion,
          e);
    }
  }

  /**
   * Carries ingestion's health into the gRPC health service: {@code quiver.v1.OnlineServing} is
   * {@code NOT_SERVING} while a source is failing or more than the lag bound behind, so a load
   * balancer or a readiness probe sends lookups elsewhere; the process as a whole ({@code ""})
   * stays {@code SERVING}, so a liveness probe does not restart a server that is only waiting for
   * its broker. Each change is logged once, with the reasons.
   */
  /**
   * Serves each view's newest version that has caught up: a new version takes over from the one
   * before it here, in one swap of the catalog, so no request reads both.
   */
  synchronized void refreshServingVersions() {
    RegistrySnapshot snapshot = servedSnapshot;
    if (snapshot.getVersion() == 0) {
      return;
    }
    Map<String, Integer> instead = servingVersions.choose(snapshot, ingestion.viewLag());
    if (instead.equals(servingInstead)) {
      return;
    }
    serve(snapshot, instead);
    LOG.info(
        "serving versions now {} (views not listed serve their active version)",
        instead.isEmpty() ? "the active ones" : instead);
  }

  /**
   * Swaps in the catalog of {@code snapshot} serving the versions {@code instead} of the active
   * ones, and the live profiles with it.
   */
  private void serve(RegistrySnapshot snapshot, Map<String, Integer> instead) {
    ServingCatalog served = ServingCatalog.of(snapshot, instead);
    catalog.set(served);
    liveProfiles.apply(snapshot, served);
    servingInstead = instead;
  }

  private void updateHealth() {
    try {
      refreshServingVersions();
      List<String> problems = new ArrayList<>();
      Map<String, dev.quiver.ingestion.SourceHealth> sources = ingestion.health();
      Map<String, dev.quiver.ingestion.SourceHealth> measured = new java.util.HashMap<>(sources);
      measured.putAll(featureLogIngestion.health());
      ingestionMetrics.update(measured);
      sources.forEach(
          (source, h) -> {
            if (h.failing()) {
              problems.add("source " + source + ": " + h.reason());
            } else if (h.totalLag() > options.maxLagRecords) {
              problems.add(
                  "source "
                      + source
                      + ": "
                      + h.totalLag()
                      + " records behind the log end, over the bound of "
                      + options.maxLagRecords
                      + " (quiver serve --max-lag-records)");
            }
          });
      java.util.Collections.sort(problems);
      String reasons = String.join("; ", problems);
      ServingStatus status = problems.isEmpty() ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
      // Logged when the status changes only: a lag figure changes with every check, and the
      // sources log their own failures.
      if (status != lookupHealth) {
        if (status == ServingStatus.NOT_SERVING) {
          LOG.warn("lookups reported NOT_SERVING to health checks: {}", reasons);
        } else {
          LOG.info("lookups reported SERVING to health checks again");
        }
        health.setStatus(OnlineServingGrpc.SERVICE_NAME, status);
        lookupHealth = status;
      }
      lookupHealthReasons = reasons;
      healthFailures.success();
    } catch (RuntimeException e) {
      healthFailures.failure("checking ingestion's health failed (" + e + ")", e);
    }
  }

  /** Why lookups report NOT_SERVING, or "" while they report SERVING. */
  public String lookupHealthReasons() {
    return lookupHealthReasons;
  }

  /** How often archived days past their source's retention are deleted. */
  static final Duration ARCHIVE_RETENTION_INTERVAL = Duration.ofHours(1);

  /** Deletes the archived days of each source that are past its retention, by event date. */
  void applyArchiveRetention() {
    Instant now = options.clock.instant();
    for (Source s : servedSnapshot.getSourcesList()) {
      Duration retention = SourceArchive.retention(s);
      if (!SourceArchive.enabled(s) || retention.isZero()) {
        continue;
      }
      // A day is deleted once all of it is older than the retention.
      LocalDate first = OfflineLayout.date(Micros.of(now.minus(retention)));
      try {
        offline.deleteDatesBefore(SourceArchive.id(s.getName()), first);
      } catch (IOException | RuntimeException e) {
        LOG.warn("source {}: the archive's retention could not be applied: {}", s.getName(), e);
      }
    }
  }

  /** Switches to the store's latest registry version if it is newer than the served one. */
  synchronized void refreshRegistry() throws IOException {
    long latest = registry.latestVersion();
    if (latest == 0 || latest == servedVersion) {
      return;
    }
    RegistrySnapshot snapshot = registry.get(latest);
    FeatureLogic logic = FeatureLogic.compile(snapshot);
    List<ViewId> views = new ArrayList<>();
    for (FeatureView v : snapshot.getFeatureViewsList()) {
      views.add(ViewId.of(v));
    }
    online.prepare(views);
    offline.prepare(views);
    offline.prepare(
        snapshot.getSourcesList().stream()
            .filter(SourceArchive::enabled)
            .map(s -> SourceArchive.id(s.getName()))
            .toList());
    ingestion.apply(snapshot, logic);
    serve(snapshot, servingVersions.choose(snapshot, ingestion.viewLag()));
    featureLogger.apply(snapshot);
    RegistrySnapshot logs = FeatureLog.registry(snapshot);
    List<ViewId> logViews = new ArrayList<>();
    for (FeatureView v : logs.getFeatureViewsList()) {
      logViews.add(ViewId.of(v));
    }
    featureLogStore.prepare(logViews);
    featureLogIngestion.apply(logs, FeatureLogic.compile(logs));
    LOG.info("registry version {} in effect ({} view versions)", latest, views.size());
    servedSnapshot = snapshot;
    servedVersion = latest;
  }

  private void writeEndpoints() throws IOException {
    Properties p = new Properties();
    p.setProperty("grpc", "localhost:" + grpcPort());
    p.setProperty("flight", "grpc://localhost:" + flightPort());
    p.setProperty("bootstrap", bootstrap);
    p.setProperty("pid", String.valueOf(ProcessHandle.current().pid()));
    Path file = options.settings.endpointsFile();
    try (Writer w = Files.newBufferedWriter(file)) {
      p.store(w, "endpoints of the running quiver serve");
    }
    resources.add(() -> Files.deleteIfExists(file));
  }

  public int grpcPort() {
    return grpc.getPort();
  }

  /** The Arrow Flight port (training-set export); Flight is served on the gRPC port too. */
  public int flightPort() {
    return flightServer.getPort();
  }

  /**
   * Flight as a service of a gRPC server. Flight's utility still takes the deprecated auth handler
   * type; {@code NO_OP} means no Flight-level authentication, as for the other services.
   */
  @SuppressWarnings("deprecation")
  private static io.grpc.BindableService flightService(
      BufferAllocator memory, FlightExportService producer, ExecutorService threads) {
    return FlightGrpcUtils.createFlightService(
        memory, producer, org.apache.arrow.flight.auth.ServerAuthHandler.NO_OP, threads);
  }

  private static void stop(Server server) throws InterruptedException {
    server.shutdown();
    if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
      server.shutdownNow();
    }
  }

  public String bootstrapServers() {
    return bootstrap;
  }

  public long servedRegistryVersion() {
    return servedVersion;
  }

  /** For each source, the next offset every view has applied, per partition. */
  public Map<String, Map<SourcePartition, Long>> applied() {
    return ingestion.applied();
  }

  /** Profiles of served values and their drift from the baselines. */
  public LiveProfiles liveProfiles() {
    return liveProfiles;
  }

  public MeterRegistry meters() {
    return meters;
  }

  public OnlineStore onlineStore() {
    return online;
  }

  /** The store of the feature log. */
  public ParquetOfflineSink featureLogStore() {
    return featureLogStore;
  }

  /** For each feature log source, the next offset its view has applied, per partition. */
  public Map<String, Map<SourcePartition, Long>> featureLogApplied() {
    return featureLogIngestion.applied();
  }

  /** Whether served vectors of {@code service} are being logged (its log topic is ready). */
  public boolean featureLogReady(String service) {
    return featureLogger.ready(service);
  }

  /** Writes out what the feature log has buffered. */
  public void flushFeatureLog() {
    featureLogger.flush();
  }

  public ParquetOfflineSink offlineStore() {
    return offline;
  }

  @Override
  public void close() {
    if (health != null) {
      health.enterTerminalState();
    }
    for (int i = resources.size() - 1; i >= 0; i--) {
      try {
        resources.get(i).close();
      } catch (Exception e) {
        LOG.warn("closing {} failed", resources.get(i), e);
      }
    }
    resources.clear();
  }

  /**
   * A name that stays the same across restarts of the server on one data directory, so that a
   * restarted server gets its partitions back at once (Kafka static membership).
   */
  private static String memberId(RepoSettings settings) {
    String host;
    try {
      host = java.net.InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      host = "localhost";
    }
    String dir = settings.dataDir().toAbsolutePath().normalize().toString();
    return "quiver-" + host + "-" + Integer.toHexString(dir.hashCode());
  }

  /** Whether {@code host} names a loopback address (or resolves only to one). */
  static boolean isLoopback(String host) {
    try {
      for (java.net.InetAddress a : java.net.InetAddress.getAllByName(host)) {
        if (!a.isLoopbackAddress()) {
          return false;
        }
      }
      return true;
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }

  private static int portOf(String bootstrap) {
    String first = bootstrap.split(",")[0].trim();
    int colon = first.lastIndexOf(':');
    try {
      return colon < 0 ? 0 : Integer.parseInt(first.substring(colon + 1));
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  /** Whether nothing listens on {@code port} of any local address. */
  public static boolean portFree(int port) {
    if (port <= 0) {
      return false;
    }
    try {
      new java.net.ServerSocket(port).close();
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
