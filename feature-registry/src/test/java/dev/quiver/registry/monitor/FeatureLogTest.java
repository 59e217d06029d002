package dev.quiver.registry.monitor;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.quiver.proto.v1.FeatureView;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.registry.TestRepos;
import dev.quiver.registry.load.RepoLoader;
import dev.quiver.registry.logic.FeatureLogic;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FeatureLogTest {
  static final String VIEWS =
      String.join(
          "\n",
          "feature_views:",
          "  card_stats:",
          "    entities: [card]",
          "    source: txns",
          "    features:",
          "      amount: {type: double, expr: amount}",
          "    aggregations:",
          "      n_1h: {function: count, window: 1h}",
          "  merchant_stats:",
          "    entities: [merchant]",
          "    source: txns",
          "    features:",
          "      country: {type: string, expr: country}",
          "feature_services:",
          "  model:",
          "    features: [card_stats:amount, merchant_stats:country, card_stats:n_1h]",
          "    logging: {sample_rate: 0.5}",
          "  quiet: {features: [card_stats:amount]}",
          "");

  static RegistrySnapshot load(Path dir, String views) throws Exception {
    TestRepos.base(dir);
    TestRepos.write(dir, "views.yaml", views);
    return RepoLoader.load(dir).definition();
  }

  @Test
  void aLoggingServiceHasALayoutOfEveryJoinKeyAndFeatureAndAViewThatCompiles(@TempDir Path dir)
      throws Exception {
    RegistrySnapshot registry = load(dir, VIEWS);
    List<FeatureLog.Layout> layouts = FeatureLog.layouts(registry);
    assertThat(layouts).hasSize(1);
    FeatureLog.Layout l = layouts.get(0);
    assertThat(l.service()).isEqualTo("model");
    assertThat(l.keyNames()).containsExactly("card_id", "merchant_id");
    assertThat(l.columns().stream().map(FeatureLog.Column::name))
        .containsExactly("card_stats__amount", "merchant_stats__country", "card_stats__n_1h");
    assertThat(l.views()).containsExactly("card_stats", "merchant_stats");
    assertThat(l.sampleRate()).isEqualTo(0.5);

    RegistrySnapshot logs = FeatureLog.registry(registry);
    FeatureView v = logs.getFeatureViews(0);
    assertThat(v.getName()).isEqualTo("_log_model");
    assertThat(v.getVersion()).isEqualTo(l.version());
    assertThat(v.getFilter()).isEqualTo("_layout == " + l.version());
    assertThat(logs.getSources(0).getKafka().getTopic()).isEqualTo("test.feature_log.model");
    // The log view compiles as any view: ingestion runs it with the one feature logic.
    assertThat(FeatureLogic.compile(logs).view("_log_model", l.version())).isPresent();
  }

  @Test
  void theLayoutVersionChangesWithTheServiceOnly(@TempDir Path dir) throws Exception {
    int version = FeatureLog.layouts(load(dir.resolve("a"), VIEWS)).get(0).version();
    String described = VIEWS.replace("  quiet:", "  quiet2:");
    assertThat(FeatureLog.layouts(load(dir.resolve("b"), described)).get(0).version())
        .as("another service changed")
        .isEqualTo(version);
    String fewer = VIEWS.replace(", card_stats:n_1h]", "]");
    assertThat(FeatureLog.layouts(load(dir.resolve("c"), fewer)).get(0).version())
        .as("a feature fewer")
        .isNotEqualTo(version);
  }

  @Test
  void sampledByKeyAlwaysTheSameAndAtTheRate() {
    long sampled =
        IntStream.range(0, 100_000)
            .filter(i -> FeatureLog.sampled(List.of("card" + i), 0.01))
            .count();
    assertThat(sampled).isBetween(900L, 1_100L);
    for (int i = 0; i < 1_000; i++) {
      List<Object> key = List.of("card" + i, (long) i);
      assertThat(FeatureLog.sampled(key, 0.3)).isEqualTo(FeatureLog.sampled(key, 0.3));
      // A key sampled at a rate is sampled at every higher rate: raising it adds entities.
      if (FeatureLog.sampled(key, 0.3)) {
        assertThat(FeatureLog.sampled(key, 0.6)).isTrue();
      }
    }
    assertThat(FeatureLog.sampled(List.of(ByteString.copyFromUtf8("x")), 1.0)).isTrue();
    assertThat(FeatureLog.sampled(List.of("x"), 0.0)).isFalse();
    // Empty keys are keys too.
    assertThat(FeatureLog.sampled(List.of(""), 0.5))
        .isEqualTo(FeatureLog.sampled(List.of(""), 0.5));
    assertThat(FeatureLog.sampled(List.of(ByteString.EMPTY), 0.5))
        .isEqualTo(FeatureLog.sampled(List.of(ByteString.EMPTY), 0.5));
    // Keys that differ only in type are different entities.
    long differ =
        IntStream.range(0, 1_000)
            .filter(
                i ->
                    FeatureLog.sampled(List.of(String.valueOf(i)), 0.5)
                        != FeatureLog.sampled(List.of((long) i), 0.5))
            .count();
    assertThat(differ).isPositive();
  }
}
