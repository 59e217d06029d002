package dev.quiver.server.alerts;

import dev.quiver.ingestion.Ingestion;
import dev.quiver.proto.v1.FeatureView;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.Source;
import dev.quiver.registry.Durations;
import dev.quiver.registry.monitor.DriftSettings;
import dev.quiver.server.metrics.AppliedRowsSink;
import dev.quiver.server.metrics.IngestionMetrics;
import dev.quiver.server.metrics.LookupMetrics;
import io.micrometer.core.instrument.Meter;
import io.micrometer.prometheusmetrics.PrometheusNamingConvention;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Prometheus alerting rules for a feature repo, from its registry: a view over its freshness
 * objective, a source whose lag keeps growing, dead letters arriving, and lookups of a view that
 * mostly find nothing. Every rule names the owner of what it is about, and says what to do. {@link
 * #tests} writes {@code promtool test rules} unit tests for the same rules: series that must fire
 * each alert, and series that must not.
 */
public final class AlertRules {
  private AlertRules() {}

  // The metrics' names as Prometheus spells them: the names the server registers them under, put
  // through the same naming convention its registry uses, so a renamed metric renames its rules
  // (counters are exposed with the _total suffix the exposition format adds).
  private static final PrometheusNamingConvention NAMES = new PrometheusNamingConvention();

  /** Seconds since the newest event a view has applied. */
  public static final String FRESHNESS =
      NAMES.name(AppliedRowsSink.FRESHNESS, Meter.Type.GAUGE, "seconds");

  /** Records a source's partition is behind its topic's end. */
  public static final String LAG = NAMES.name(IngestionMetrics.LAG, Meter.Type.GAUGE, null);

  /** Records sent to a source's dead-letter topic, by reason. */
  public static final String DEAD_LETTERS =
      NAMES.name(Ingestion.DEAD_LETTERS_METRIC, Meter.Type.COUNTER, null) + "_total";

  /** Values served, by view and status. */
  public static final String VALUES =
      NAMES.name(LookupMetrics.VALUES, Meter.Type.COUNTER, null) + "_total";

  /** A feature's drift statistic, by service, feature, statistic and window. */
  public static final String DRIFT =
      NAMES.name(dev.quiver.server.monitor.LiveProfiles.DRIFT, Meter.Type.GAUGE, null);

  /** The share of a feature's logged vectors the training set does not reproduce. */
  public static final String CONSISTENCY =
      NAMES.name(
          dev.quiver.server.monitor.ConsistencyResults.MISMATCH_RATIO, Meter.Type.GAUGE, null);

  /** Lag, in records, past which a lag that keeps growing is worth an alert. */
  static final long LAG_FLOOR = 10_000;

  /** The share of a view's served values that may be NOT_FOUND before it is worth an alert. */
  static final double NOT_FOUND_RATIO = 0.1;

  /** One alerting rule. */
  record Rule(
      String alert,
      String expr,
      Duration hold,
      Map<String, String> labels,
      String summary,
      String description) {}

  /** The rules of a repo. */
  static List<Rule> of(RegistrySnapshot registry) {
    List<Rule> rules = new ArrayList<>();
    Map<String, Set<String>> ownersBySource = new LinkedHashMap<>();
    for (FeatureView v : registry.getFeatureViewsList()) {
      String owner = v.getMetadata().getOwner();
      if (!owner.isEmpty()) {
        ownersBySource.computeIfAbsent(v.getSource(), s -> new LinkedHashSet<>()).add(owner);
      }
    }
    for (FeatureView v : registry.getFeatureViewsList()) {
      String view = v.getName();
      Map<String, String> labels = labels("view", view, v.getMetadata().getOwner());
      if (v.hasFreshness()) {
        Duration objective = Durations.fromProto(v.getFreshness());
        rules.add(
            new Rule(
                "QuiverViewStale",
                FRESHNESS + "{view=" + quote(view) + "} > " + objective.toSeconds(),
                // Held a minute (a scrape or two late is not stale), less for a tighter objective.
                objective.compareTo(Duration.ofMinutes(1)) < 0 ? objective : Duration.ofMinutes(1),
                labels,
                "Feature view "
                    + view
                    + " is older than its freshness objective of "
                    + Durations.format(objective),
                "The newest event view "
                    + view
                    + " has applied is older than its objective of "
                    + Durations.format(objective)
                    + ". Models read stale features. Check that source "
                    + v.getSource()
                    + " is still produced to, that quiver serve is ingesting (health"
                    + " quiver.v1.OnlineServing, quiver_ingest_lag) and that no sink is"
                    + " failing (its log)."));
      }
      rules.add(
          new Rule(
              "QuiverViewNotFound",
              "sum(rate("
                  + VALUES
                  + "{view="
                  + quote(view)
                  + ",status=\"NOT_FOUND\"}[5m])) / sum(rate("
                  + VALUES
                  + "{view="
                  + quote(view)
                  + "}[5m])) > "
                  + NOT_FOUND_RATIO,
              Duration.ofMinutes(10),
              labels,
              "Lookups of feature view " + view + " mostly find no row",
              "{{ $value | humanizePercentage }} of the values served from view "
                  + view
                  + " are NOT_FOUND: models get defaults instead of features. Check that"
                  + " callers send the view's join keys as they are produced (type and"
                  + " spelling), and that the view is caught up after a new version."));
    }
    Map<String, String> viewOwners = new LinkedHashMap<>();
    registry
        .getFeatureViewsList()
        .forEach(v -> viewOwners.putIfAbsent(v.getName(), v.getMetadata().getOwner()));
    for (dev.quiver.proto.v1.FeatureService svc : registry.getFeatureServicesList()) {
      String service = svc.getName();
      String owner = svc.getMetadata().getOwner();
      if (owner.isEmpty()) {
        Set<String> owners = new LinkedHashSet<>();
        svc.getFeaturesList().forEach(f -> owners.add(viewOwners.getOrDefault(f.getView(), "")));
        owners.remove("");
        owner = String.join(",", owners);
      }
      Map<String, String> labels = labels("service", service, owner);
      rules.add(
          new Rule(
              "QuiverServiceNotFound",
              "sum(rate("
                  + VALUES
                  + "{service="
                  + quote(service)
                  + ",status=\"NOT_FOUND\"}[5m])) / sum(rate("
                  + VALUES
                  + "{service="
                  + quote(service)
                  + "}[5m])) > "
                  + NOT_FOUND_RATIO,
              Duration.ofMinutes(10),
              labels,
              "Lookups of feature service " + service + " mostly find no row",
              "{{ $value | humanizePercentage }} of the values served for feature service "
                  + service
                  + " are NOT_FOUND: the model gets defaults instead of features. Check that"
                  + " its callers send the join keys as they are produced, and which view"
                  + " (quiver_lookup_values_total by view) misses them."));
      if (svc.hasLogging()) {
        rules.add(
            new Rule(
                "QuiverConsistencyMismatch",
                "max by (service, feature) ("
                    + CONSISTENCY
                    + "{service="
                    + quote(service)
                    + "}) > 0",
                Duration.ZERO,
                labels,
                "Served values of service " + service + " differ from its training set",
                "The latest quiver verify of service "
                    + service
                    + " found {{ $value | humanizePercentage }} of the logged values of"
                    + " {{ $labels.feature }} that the point-in-time export does not reproduce (lag"
                    + " excluded): the model is served other features than it is trained on. Run"
                    + " quiver verify --service "
                    + service
                    + " for the worst examples and their keys."));
      }
      DriftSettings drift = DriftSettings.of(svc);
      if (drift.sampleRate() > 0) {
        rules.add(
            new Rule(
                "QuiverFeatureDrift",
                "max by (service, feature, window) ("
                    + DRIFT
                    + "{service="
                    + quote(service)
                    + ",statistic=\"psi\"}) >= "
                    + drift.psiAlert(),
                Duration.ofMinutes(15),
                labels,
                "Feature {{ $labels.feature }} of service "
                    + service
                    + " drifts from its training baseline",
                "Served values of {{ $labels.feature }} over the last {{ $labels.window }} have a"
                    + " PSI of {{ $value }} against the training baseline of service "
                    + service
                    + " (alert threshold "
                    + drift.psiAlert()
                    + "). Run quiver monitor drift --service "
                    + service
                    + " to see every statistic; find what changed upstream (a producer, a unit,"
                    + " a new population), then fix it or retrain and record a new baseline."));
      }
    }
    for (Source s : registry.getSourcesList()) {
      String source = s.getName();
      String owner = String.join(",", ownersBySource.getOrDefault(source, Set.of()));
      Map<String, String> labels = labels("source", source, owner);
      String lag = LAG + "{source=" + quote(source) + "}";
      rules.add(
          new Rule(
              "QuiverIngestionFallingBehind",
              "sum(" + lag + ") > " + LAG_FLOOR + " and sum(deriv(" + lag + "[10m])) > 0",
              Duration.ofMinutes(10),
              labels,
              "Ingestion of source " + source + " falls further behind",
              "Source "
                  + source
                  + " is {{ $value }} records behind its topic's end and the gap keeps growing:"
                  + " the topic is produced to faster than quiver serve ingests it. Check the"
                  + " ingest thread's log for retries, and whether the node needs more cores."));
      rules.add(
          new Rule(
              "QuiverDeadLetters",
              "sum by (source, reason) (rate("
                  + DEAD_LETTERS
                  + "{source="
                  + quote(source)
                  + "}[5m])) > 0",
              Duration.ofMinutes(5),
              labels,
              "Records of source " + source + " go to its dead-letter topic",
              "Records of source "
                  + source
                  + " go to its dead-letter topic (reason {{ $labels.reason }}). Read"
                  + " one (its quiver.reason and quiver.error headers say what was wrong) and fix"
                  + " the producer or the source's schema; the dead letters keep the original"
                  + " record for a replay."));
    }
    return rules;
  }

  private static Map<String, String> labels(String kind, String name, String owner) {
    Map<String, String> labels = new LinkedHashMap<>();
    labels.put("severity", "warning");
    labels.put(kind, name);
    if (!owner.isEmpty()) {
      labels.put("owner", owner);
    }
    return labels;
  }

  /** The rules file: one group named after the project. */
  public static String rules(RegistrySnapshot registry) {
    StringBuilder y = new StringBuilder();
    y.append("# Alerting rules for project ")
        .append(registry.getProject().getName())
        .append(", written by quiver alerts from its registry.\n");
    y.append("groups:\n");
    y.append("  - name: ").append(quote("quiver." + registry.getProject().getName())).append('\n');
    y.append("    rules:\n");
    for (Rule r : of(registry)) {
      y.append("      - alert: ").append(r.alert()).append('\n');
      y.append("        expr: ").append(quote(r.expr())).append('\n');
      y.append("        for: ").append(r.hold().toSeconds()).append("s\n");
      y.append("        labels:\n");
      r.labels()
          .forEach(
              (k, v) ->
                  y.append("          ").append(k).append(": ").append(quote(v)).append('\n'));
      y.append("        annotations:\n");
      y.append("          summary: ").append(quote(r.summary())).append('\n');
      y.append("          description: ").append(quote(r.description())).append('\n');
    }
    return y.toString();
  }

  /**
   * {@code promtool test rules} unit tests of {@link #rules}: for each alert, input series under
   * which it stays quiet, then fires with its labels and annotations: a view that goes stale past
   * its objective, dead letters arriving, a feature's PSI going over its service's threshold, a
   * verify finding mismatches.
   */
  public static String tests(RegistrySnapshot registry, String rulesFile) {
    StringBuilder y = new StringBuilder();
    y.append("# Unit tests of ").append(rulesFile).append(": promtool test rules <this file>\n");
    y.append("rule_files:\n  - ").append(quote(rulesFile)).append('\n');
    y.append("evaluation_interval: 1m\n");
    y.append("tests:\n");
    Map<String, Duration> objectives = new LinkedHashMap<>();
    for (FeatureView v : registry.getFeatureViewsList()) {
      if (v.hasFreshness()) {
        objectives.put(v.getName(), Durations.fromProto(v.getFreshness()));
      }
    }
    for (Rule r : of(registry)) {
      switch (r.alert()) {
        case "QuiverViewStale" -> {
          String view = r.labels().get("view");
          long objective = objectives.get(view).toSeconds();
          // Fresh for 10 minutes (30 s old at each scrape), then older by a minute a minute.
          test(
              y,
              r,
              FRESHNESS + "{view=" + quote(view) + "}",
              "30x10 " + (objective + 60) + "+60x10",
              "10m",
              "14m",
              Map.of(),
              Map.of());
        }
        case "QuiverDeadLetters" ->
            test(
                y,
                r,
                DEAD_LETTERS
                    + "{source="
                    + quote(r.labels().get("source"))
                    + ",reason=\"wrong_type\"}",
                "0x10 0+5x20",
                "10m",
                "20m",
                Map.of("reason", "wrong_type"),
                Map.of("{{ $labels.reason }}", "wrong_type"));
        case "QuiverFeatureDrift" -> {
          String service = r.labels().get("service");
          double threshold =
              DriftSettings.of(
                      dev.quiver.registry.FeatureServices.find(registry, service).orElseThrow())
                  .psiAlert();
          // Under the threshold for 10 minutes, then over it for longer than the hold.
          test(
              y,
              r,
              DRIFT
                  + "{service="
                  + quote(service)
                  + ",feature=\"v__f\",statistic=\"psi\",window=\"1h\"}",
              threshold / 2 + "x10 " + threshold * 2 + "x30",
              "20m",
              "30m",
              Map.of("feature", "v__f", "window", "1h"),
              Map.of(
                  "{{ $labels.feature }}", "v__f",
                  "{{ $labels.window }}", "1h",
                  "{{ $value }}", String.valueOf(threshold * 2)));
        }
        case "QuiverConsistencyMismatch" ->
            // Clean for 10 minutes, then a verify finds 2% of the values differ.
            test(
                y,
                r,
                CONSISTENCY + "{service=" + quote(r.labels().get("service")) + ",feature=\"v__f\"}",
                "0x10 0.02x10",
                "9m",
                "15m",
                Map.of("feature", "v__f"),
                Map.of(
                    "{{ $labels.feature }}", "v__f",
                    "{{ $value | humanizePercentage }}", "2%"));
        default -> {
          // Rules over rates of several series (lag, NOT_FOUND) are checked by promtool check.
        }
      }
    }
    return y.toString();
  }

  /**
   * One test of {@code r}: {@code series} takes {@code values} (promtool's expanding notation) a
   * minute apart; at {@code quietAt} the alert is not firing, at {@code firingAt} it fires once,
   * with the rule's labels plus {@code extraLabels} and its annotations' templates filled.
   */
  private static void test(
      StringBuilder y,
      Rule r,
      String series,
      String values,
      String quietAt,
      String firingAt,
      Map<String, String> extraLabels,
      Map<String, String> filled) {
    y.append("  - interval: 1m\n    input_series:\n");
    y.append("      - series: ")
        .append(quote(series))
        .append("\n        values: ")
        .append(quote(values))
        .append('\n');
    y.append("    alert_rule_test:\n");
    y.append("      - eval_time: ")
        .append(quietAt)
        .append("\n        alertname: ")
        .append(r.alert())
        .append("\n        exp_alerts: []\n");
    y.append("      - eval_time: ")
        .append(firingAt)
        .append("\n        alertname: ")
        .append(r.alert())
        .append("\n        exp_alerts:\n");
    y.append("          - exp_labels:\n");
    Map<String, String> labels = new LinkedHashMap<>(r.labels());
    labels.putAll(extraLabels);
    labels.forEach(
        (k, v) -> y.append("              ").append(k).append(": ").append(quote(v)).append('\n'));
    annotations(y, r, filled);
  }

  /** The annotations an alert of {@code r} carries, its templates filled as {@code filled} says. */
  private static void annotations(StringBuilder y, Rule r, Map<String, String> filled) {
    String description = r.description();
    String summary = r.summary();
    for (Map.Entry<String, String> f : filled.entrySet()) {
      description = description.replace(f.getKey(), f.getValue());
      summary = summary.replace(f.getKey(), f.getValue());
    }
    y.append("            exp_annotations:\n");
    y.append("              summary: ").append(quote(summary)).append('\n');
    y.append("              description: ").append(quote(description)).append('\n');
  }

  /** A double-quoted YAML (and PromQL) string. */
  static String quote(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        default -> b.append(c);
      }
    }
    return b.append('"').toString();
  }
}
