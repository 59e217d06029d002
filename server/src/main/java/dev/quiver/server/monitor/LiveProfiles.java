package dev.quiver.server.monitor;

import dev.quiver.online.LookupListener;
import dev.quiver.online.ServedAnswer;
import dev.quiver.online.ServingCatalog;
import dev.quiver.proto.v1.FeatureService;
import dev.quiver.proto.v1.FeatureStatus;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.monitor.Baseline;
import dev.quiver.registry.monitor.DriftSettings;
import dev.quiver.registry.monitor.DriftTable;
import dev.quiver.registry.monitor.FeatureProfile;
import dev.quiver.registry.semantics.Micros;
import dev.quiver.registry.util.RepeatingFailureLog;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Profiles of the values {@code quiver serve} answers with, per feature of each feature service, in
 * rolling windows (1h and 24h unless the service's {@code drift} says otherwise), with the same
 * {@link FeatureProfile} sketches an export records as the training baseline. {@link #refresh}
 * (every few seconds) compares each window with the service's baseline ({@link DriftTable}),
 * publishes the statistics as {@code quiver_feature_drift{service,feature,statistic,window}}
 * gauges, and writes each window's profile under the data directory for {@code quiver monitor
 * drift}.
 *
 * <p>A window of length W is kept as 12 slots of W/12 by request time: it covers the last W rounded
 * down to a slot, between 11/12 W and W. A service's share of entity rows profiled is its {@code
 * drift.sample_rate} (default all), and at most {@code drift.max_rows_per_second} of them a second
 * (default 200, with bursts of up to 10 seconds' worth profiled whole), which bounds what profiling
 * costs a busy server: past the bound, the rows that come first are profiled. A row's values are
 * counted as served, a value that was not found or too old counting as a null, as the training set
 * holds a null there.
 *
 * <p>Threading: {@link #answered} runs on the serving threads, one service's profiles under its own
 * lock; {@link #apply} and {@link #refresh} run on one background thread.
 */
public final class LiveProfiles implements LookupListener {
  private static final Logger LOG = LoggerFactory.getLogger(LiveProfiles.class);
  private static final int SLOTS = 12;

  /** Seconds' worth of drift.max_rows_per_second a burst of lookups may have profiled at once. */
  static final int BURST_SECONDS = 10;

  public static final String DRIFT = "quiver.feature.drift";

  private final Path dataDir;
  private final String project;
  private final MeterRegistry meters;
  private final Clock clock;
  private volatile Map<String, ServiceProfiles> services = Map.of();
  private volatile boolean any;
  private final Map<List<String>, AtomicReference<Double>> gauges = new ConcurrentHashMap<>();
  private final Map<Path, Cached> baselines = new HashMap<>();
  private final RepeatingFailureLog failures =
      new RepeatingFailureLog(LOG, "drift profiles", Duration.ofMinutes(1));

  private record Cached(java.nio.file.attribute.FileTime modified, Baseline baseline) {}

  public LiveProfiles(Path dataDir, String project, MeterRegistry meters, Clock clock) {
    this.dataDir = Objects.requireNonNull(dataDir, "dataDir");
    this.project = Objects.requireNonNull(project, "project");
    this.meters = Objects.requireNonNull(meters, "meters");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /**
   * Follows a registry version: its services, their features (as {@code catalog}, the version's
   * serving catalog, resolves them) and drift settings.
   */
  public synchronized void apply(RegistrySnapshot snapshot, ServingCatalog catalog) {
    Map<String, ServiceProfiles> next = new LinkedHashMap<>();
    for (FeatureService s : snapshot.getFeatureServicesList()) {
      DriftSettings settings = DriftSettings.of(s);
      List<ServingCatalog.ServedFeature> features = catalog.service(s.getName()).orElseThrow();
      List<String> columns = features.stream().map(ServingCatalog.ServedFeature::fullName).toList();
      List<ValueType> types = features.stream().map(ServingCatalog.ServedFeature::type).toList();
      ServiceProfiles old = services.get(s.getName());
      if (old != null
          && old.columns.equals(columns)
          && old.types.equals(types)
          && old.settings.equals(settings)) {
        next.put(s.getName(), old);
      } else {
        next.put(s.getName(), new ServiceProfiles(s.getName(), columns, types, settings));
      }
    }
    services = Map.copyOf(next);
    any = next.values().stream().anyMatch(p -> p.settings.sampleRate() > 0);
  }

  @Override
  public boolean wantsAnswers() {
    return any;
  }

  @Override
  public void answered(ServedAnswer a) {
    if (a.service() == null) {
      return;
    }
    ServiceProfiles p = services.get(a.service());
    if (p == null || p.settings.sampleRate() <= 0 || a.features().size() != p.columns.size()) {
      return;
    }
    double rate = p.settings.sampleRate();
    long max = p.settings.maxRowsPerSecond();
    int features = p.columns.size();
    synchronized (p) {
      if (max > 0) {
        // A token bucket of rows: max a second, bursts of up to BURST_SECONDS of them.
        long now = a.requestTimeMicros();
        double burst = (double) max * BURST_SECONDS;
        p.tokens =
            p.lastMicros == Long.MIN_VALUE
                ? burst
                : Math.min(burst, p.tokens + Math.max(0, now - p.lastMicros) * max / 1e6);
        p.lastMicros = now;
      }
      FeatureProfile[][] slots = null;
      for (int r = 0; r < a.rows(); r++) {
        if (max > 0 && p.tokens < 1) {
          return;
        }
        if (rate < 1 && ThreadLocalRandom.current().nextDouble() >= rate) {
          continue;
        }
        p.tokens--;
        if (slots == null) {
          slots = p.slots(a.requestTimeMicros());
        }
        for (int f = 0; f < features; f++) {
          FeatureStatus status = a.status(f, r);
          dev.quiver.proto.v1.Value v = status == FeatureStatus.PRESENT ? a.value(f, r) : NULL;
          for (FeatureProfile[] slot : slots) {
            slot[f].add(v);
          }
        }
      }
    }
  }

  private static final dev.quiver.proto.v1.Value NULL =
      dev.quiver.proto.v1.Value.getDefaultInstance();

  /**
   * Compares every service's windows with its baseline, updates the gauges, and writes the windows'
   * profiles for {@code quiver monitor drift}. Never throws.
   */
  public synchronized void refresh() {
    try {
      long now = Micros.of(clock.instant());
      for (ServiceProfiles p : services.values()) {
        if (p.settings.sampleRate() <= 0) {
          continue;
        }
        Map<String, Baseline> live = new LinkedHashMap<>();
        synchronized (p) {
          for (int w = 0; w < p.windows.size(); w++) {
            live.put(DriftSettings.windowName(p.windows.get(w)), p.window(w, now));
          }
        }
        for (Map.Entry<String, Baseline> w : live.entrySet()) {
          w.getValue().write(DriftTable.livePath(dataDir, project, p.name, w.getKey()));
        }
        Optional<Baseline> baseline = baseline(p.name, p.settings.baseline());
        if (baseline.isEmpty()) {
          continue;
        }
        for (DriftTable.Row row : DriftTable.rows(baseline.get(), live, p.settings)) {
          set(p.name, row, "psi", row.report().psi());
          set(p.name, row, "jensen_shannon", row.report().jensenShannon());
          set(p.name, row, "kolmogorov_smirnov", row.report().kolmogorovSmirnov());
        }
      }
      failures.success();
    } catch (IOException | RuntimeException e) {
      failures.failure("comparing served values with the baselines failed: " + e, e);
    }
  }

  private void set(String service, DriftTable.Row row, String statistic, Optional<Double> value) {
    List<String> key = List.of(service, row.feature(), statistic, row.window());
    AtomicReference<Double> holder =
        gauges.computeIfAbsent(
            key,
            k -> {
              AtomicReference<Double> h = new AtomicReference<>(Double.NaN);
              Gauge.builder(DRIFT, h, x -> x.get())
                  .description(
                      "Drift of a feature's served values from the service's training baseline:"
                          + " psi, jensen_shannon or kolmogorov_smirnov, per rolling window (NaN"
                          + " below the minimum sample size)")
                  .tag("service", service)
                  .tag("feature", row.feature())
                  .tag("statistic", statistic)
                  .tag("window", row.window())
                  .register(meters);
              return h;
            });
    holder.set(value.orElse(Double.NaN));
  }

  private Optional<Baseline> baseline(String service, String name) throws IOException {
    Optional<Path> file = DriftTable.baselineFile(dataDir, project, service, name);
    if (file.isEmpty()) {
      return Optional.empty();
    }
    java.nio.file.attribute.FileTime modified = Files.getLastModifiedTime(file.get());
    Cached c = baselines.get(file.get());
    if (c == null || !c.modified.equals(modified)) {
      c = new Cached(modified, Baseline.read(file.get()));
      baselines.put(file.get(), c);
    }
    return Optional.of(c.baseline);
  }

  /** One service's windows: for each, a ring of slots of a profile per feature. */
  private static final class ServiceProfiles {
    final String name;
    final List<String> columns;
    final List<ValueType> types;
    final DriftSettings settings;
    final List<Duration> windows;
    final long[] slotMicros;
    final long[][] slotIndex;
    final FeatureProfile[][][] slots;
    final FeatureProfile[][] current;
    // The rows that may be profiled now (drift.max_rows_per_second), as of lastMicros.
    double tokens;
    long lastMicros = Long.MIN_VALUE;

    ServiceProfiles(
        String name, List<String> columns, List<ValueType> types, DriftSettings settings) {
      this.name = name;
      this.columns = columns;
      this.types = types;
      this.settings = settings;
      this.windows = settings.windows();
      int n = windows.size();
      slotMicros = new long[n];
      slotIndex = new long[n][SLOTS];
      slots = new FeatureProfile[n][SLOTS][];
      current = new FeatureProfile[n][];
      for (int w = 0; w < n; w++) {
        slotMicros[w] = Math.max(1, Micros.of(windows.get(w)) / SLOTS);
        java.util.Arrays.fill(slotIndex[w], Long.MIN_VALUE);
      }
    }

    /** The slot of each window that time {@code t} falls in, emptied if it held an older one. */
    FeatureProfile[][] slots(long t) {
      for (int w = 0; w < windows.size(); w++) {
        long index = Math.floorDiv(t, slotMicros[w]);
        int at = (int) Math.floorMod(index, (long) SLOTS);
        if (slotIndex[w][at] != index) {
          if (slotIndex[w][at] > index) {
            // Older than the window: a clock step back. Counted in the slot it lands in.
            current[w] = slots[w][at];
            continue;
          }
          slotIndex[w][at] = index;
          slots[w][at] = fresh();
        }
        current[w] = slots[w][at];
      }
      return current;
    }

    private FeatureProfile[] fresh() {
      FeatureProfile[] p = new FeatureProfile[types.size()];
      for (int i = 0; i < p.length; i++) {
        p[i] = FeatureProfile.of(types.get(i));
      }
      return p;
    }

    /** Window {@code w} as of {@code now}: its slots merged, as a baseline-shaped profile. */
    Baseline window(int w, long now) {
      long nowIndex = Math.floorDiv(now, slotMicros[w]);
      FeatureProfile[] merged = fresh();
      long values = 0;
      for (int at = 0; at < SLOTS; at++) {
        long index = slotIndex[w][at];
        if (slots[w][at] == null || index <= nowIndex - SLOTS || index > nowIndex) {
          continue;
        }
        for (int f = 0; f < merged.length; f++) {
          merged[f].merge(slots[w][at][f]);
        }
      }
      Map<String, FeatureProfile> byColumn = new LinkedHashMap<>();
      for (int f = 0; f < merged.length; f++) {
        byColumn.put(columns.get(f), merged[f]);
        values = Math.max(values, merged[f].count());
      }
      long start = (nowIndex - SLOTS + 1) * slotMicros[w];
      return new Baseline(name, values, Micros.toInstant(start), Micros.toInstant(now), byColumn);
    }
  }

  /** Names of the services profiled, for tests and logs. */
  List<String> services() {
    return new ArrayList<>(services.keySet());
  }
}
