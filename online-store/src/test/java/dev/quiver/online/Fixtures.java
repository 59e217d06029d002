package dev.quiver.online;

import dev.quiver.proto.v1.FeatureView;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.registry.FeatureRepo;
import dev.quiver.registry.load.RepoLoader;
import dev.quiver.registry.plan.Planner;
import dev.quiver.registry.rows.RowBatch;
import dev.quiver.registry.rows.SourcePartition;
import dev.quiver.registry.rows.ViewId;
import dev.quiver.registry.rows.ViewRow;
import dev.quiver.registry.rows.ViewShape;
import dev.quiver.registry.semantics.OrderKey;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** A small registry and helpers to write rows straight into an online store. */
final class Fixtures {
  static final String REGISTRY =
      String.join(
          "\n",
          "entities:",
          "  card: {join_keys: {card_id: string}}",
          "  shop: {join_keys: {shop_id: int64}}",
          "sources:",
          "  txns:",
          "    kafka: {topic: txns}",
          "    event_timestamp: ts",
          "    schema: {card_id: string, shop_id: int64, amount: double, country: string, ts: timestamp}",
          "feature_views:",
          "  card_stats:",
          "    entities: [card]",
          "    source: txns",
          "    ttl: 1h",
          "    features:",
          "      last_amount: {type: double, expr: amount}",
          "      last_country: {type: string, expr: country}",
          "    aggregations:",
          "      amount_sum_1h: {function: sum, input: amount, window: 1h, hop: 10m}",
          "      txn_count_1h: {function: count, window: 1h, hop: 10m}",
          "  shop_stats:",
          "    entities: [shop]",
          "    source: txns",
          "    features:",
          "      last_amount: {type: double, expr: amount}",
          "feature_services:",
          "  scoring:",
          "    features: [card_stats:last_amount, card_stats:last_country, card_stats:txn_count_1h,"
              + " shop_stats:last_amount]",
          "");

  private Fixtures() {}

  /** The registry as applied (version 1). */
  static RegistrySnapshot snapshot(Path dir) throws Exception {
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("quiver.yaml"), "project: test\n");
    Files.writeString(dir.resolve("features.yaml"), REGISTRY);
    FeatureRepo repo = RepoLoader.load(dir);
    return Planner.plan(RegistrySnapshot.getDefaultInstance(), repo, false).next().toBuilder()
        .setVersion(1)
        .build();
  }

  static ViewShape shape(RegistrySnapshot s, String view) {
    FeatureView v =
        s.getFeatureViewsList().stream().filter(x -> x.getName().equals(view)).findFirst().get();
    List<dev.quiver.proto.v1.Field> keys = new java.util.ArrayList<>();
    for (String e : v.getEntitiesList()) {
      s.getEntitiesList().stream()
          .filter(x -> x.getName().equals(e))
          .forEach(x -> keys.addAll(x.getJoinKeysList()));
    }
    return ViewShape.of(v, keys);
  }

  /** A row of card_stats: features (last_amount, last_country), inputs (amount, none). */
  static ViewRow card(
      ViewShape shape, String card, long eventMillis, long offset, Double amount, String country) {
    return new ViewRow(
        shape,
        List.of(card),
        new OrderKey(eventMillis * 1000, OrderKey.NO_CREATED_TIME, 0, offset),
        new Object[] {amount, country},
        new Object[] {amount, null});
  }

  static ViewRow shop(ViewShape shape, long shop, long eventMillis, long offset, Double amount) {
    return new ViewRow(
        shape,
        List.of(shop),
        new OrderKey(eventMillis * 1000, OrderKey.NO_CREATED_TIME, 0, offset),
        new Object[] {amount},
        new Object[] {});
  }

  static RowBatch batch(List<ViewRow> rows) {
    return new RowBatch(rows, Map.of());
  }

  static RowBatch batch(List<ViewRow> rows, ViewId view, long next) {
    return new RowBatch(rows, Map.of(view, Map.of(new SourcePartition("txns", 0), next)));
  }
}
