package dev.quiver.registry.monitor;

import dev.quiver.proto.v1.FeatureService;
import dev.quiver.registry.Durations;
import java.time.Duration;
import java.util.List;

/**
 * A feature service's drift settings with the defaults filled in: the one place the defaults live.
 *
 * @param psiWarn PSI at or over which a feature counts as drifting
 * @param psiAlert PSI at or over which drift alerts, and {@code quiver monitor drift} fails
 * @param windows the rolling windows of served values profiled, shortest first
 * @param minSamples the fewest values a baseline and a window must both hold for a statistic
 * @param sampleRate the share of served entity rows profiled; 0 for none
 * @param maxRowsPerSecond the most entity rows profiled a second, on average (bursts of ten
 *     seconds' worth are profiled whole); 0 for no bound. It bounds what profiling costs a busy
 *     server: 200 a second is 720,000 rows an hour, plenty for the windows' statistics
 * @param baseline the baseline compared with; empty for the newest recorded
 */
public record DriftSettings(
    double psiWarn,
    double psiAlert,
    List<Duration> windows,
    long minSamples,
    double sampleRate,
    long maxRowsPerSecond,
    String baseline) {
  public static final double PSI_WARN = 0.1;
  public static final double PSI_ALERT = 0.25;
  public static final List<Duration> WINDOWS = List.of(Duration.ofHours(1), Duration.ofHours(24));
  public static final double SAMPLE_RATE = 1.0;
  public static final long MAX_ROWS_PER_SECOND = 200;

  public DriftSettings {
    windows = windows.stream().distinct().sorted().toList();
  }

  /** The settings of {@code service}: what its registry entry says, defaults for the rest. */
  public static DriftSettings of(FeatureService service) {
    var d = service.getDrift();
    return new DriftSettings(
        d.hasPsiWarn() ? d.getPsiWarn() : PSI_WARN,
        d.hasPsiAlert() ? d.getPsiAlert() : PSI_ALERT,
        d.getWindowsCount() == 0
            ? WINDOWS
            : d.getWindowsList().stream().map(Durations::fromProto).toList(),
        d.hasMinSamples() ? d.getMinSamples() : Drift.MIN_SAMPLES,
        d.hasSampleRate() ? d.getSampleRate() : SAMPLE_RATE,
        d.hasMaxRowsPerSecond() ? d.getMaxRowsPerSecond() : MAX_ROWS_PER_SECOND,
        d.getBaseline());
  }

  /**
   * The name a window goes by in metrics, files and tables: whole hours as {@code 1h} or {@code
   * 24h}, whole minutes as {@code 30m}, anything else as the registry writes durations.
   */
  public static String windowName(Duration window) {
    if (window.toSecondsPart() == 0 && window.toNanosPart() == 0) {
      return window.toMinutes() % 60 == 0 ? window.toHours() + "h" : window.toMinutes() + "m";
    }
    return Durations.format(window);
  }
}
