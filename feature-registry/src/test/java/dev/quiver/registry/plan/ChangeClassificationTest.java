package dev.quiver.registry.plan;

import static dev.quiver.registry.plan.PlanFixtures.BASE;
import static dev.quiver.registry.plan.PlanFixtures.edit;
import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.registry.plan.Change.Severity;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** A table of edits to an applied registry, each with the change it must produce and its class. */
class ChangeClassificationTest {

  static Stream<Arguments> changes() {
    return Stream.of(
        // name, edited repo, kind, object, field ("" = the object itself), severity
        Arguments.of(
            "add a feature view",
            BASE.replace(
                "feature_services:",
                "  merchant_stats:\n    entities: [merchant]\n    source: txns\n"
                    + "    features:\n      last: {type: double, expr: amount}\nfeature_services:"),
            "feature view",
            "merchant_stats",
            "",
            Severity.SAFE),
        Arguments.of(
            "add a feature",
            edit(
                BASE,
                "      spare:",
                "      fresh: {type: bool, expr: 'country == \"US\"'}\n      spare:"),
            "feature view",
            "card_stats",
            "features.fresh",
            Severity.SAFE),
        Arguments.of(
            "add an aggregation",
            edit(
                BASE,
                "      count_1h:",
                "      max_7d: {function: max, input: amount, window: 7d}\n      count_1h:"),
            "feature view",
            "card_stats",
            "aggregations.max_7d",
            Severity.SAFE),
        Arguments.of(
            "add a feature service",
            BASE + "  third_model:\n    features: [card_stats:spare]\n",
            "feature service",
            "third_model",
            "",
            Severity.SAFE),
        Arguments.of(
            "add a feature to a service",
            edit(BASE, "[card_stats:last_country]", "[card_stats:last_country, card_stats:spare]"),
            "feature service",
            "other_model",
            "features",
            Severity.SAFE),
        Arguments.of(
            "add a source field",
            edit(BASE, "pan: string,", "pan: string, mcc: int32,"),
            "source",
            "txns",
            "schema.mcc",
            Severity.SAFE),
        Arguments.of(
            "change a description",
            edit(BASE, "description: A card.", "description: A payment card."),
            "entity",
            "card",
            "description",
            Severity.SAFE),
        Arguments.of(
            "change an owner",
            edit(BASE, "owner: risk@example.com", "owner: fraud@example.com"),
            "feature view",
            "card_stats",
            "owner",
            Severity.SAFE),
        Arguments.of(
            "add a tag",
            edit(BASE, "    ttl: 30d", "    ttl: 30d\n    tags: {tier: gold}"),
            "feature view",
            "card_stats",
            "tags.tier",
            Severity.SAFE),
        Arguments.of(
            "change a ttl",
            edit(BASE, "ttl: 30d", "ttl: 14d"),
            "feature view",
            "card_stats",
            "ttl",
            Severity.SAFE),
        Arguments.of(
            "set a freshness objective",
            edit(BASE, "    ttl: 30d", "    ttl: 30d\n    freshness: 10m"),
            "feature view",
            "card_stats",
            "freshness",
            Severity.SAFE),
        Arguments.of(
            "set a service's drift thresholds",
            edit(
                BASE,
                "    features: [card_stats:last_country]",
                "    features: [card_stats:last_country]\n    drift: {psi_alert: 0.3}"),
            "feature service",
            "other_model",
            "drift.psi_alert",
            Severity.SAFE),
        Arguments.of(
            "change a feature's type",
            edit(BASE, "last_amount: {type: double", "last_amount: {type: float"),
            "feature view",
            "card_stats",
            "features.last_amount.type",
            Severity.BREAKING),
        Arguments.of(
            "change a feature's expression",
            edit(BASE, "expr: amount}", "expr: amount * 100.0}"),
            "feature view",
            "card_stats",
            "features.last_amount.expr",
            Severity.BREAKING),
        Arguments.of(
            "change an aggregation's window",
            edit(BASE, "window: 24h", "window: 12h"),
            "feature view",
            "card_stats",
            "aggregations.sum_24h.window",
            Severity.BREAKING),
        Arguments.of(
            "change an aggregation's function",
            edit(BASE, "function: sum", "function: max"),
            "feature view",
            "card_stats",
            "aggregations.sum_24h.function",
            Severity.BREAKING),
        Arguments.of(
            "change an aggregation's hop",
            edit(BASE, "window: 1h}", "window: 1h, hop: 1m}"),
            "feature view",
            "card_stats",
            "aggregations.count_1h.hop",
            Severity.BREAKING),
        Arguments.of(
            "remove a feature a service uses",
            edit(
                edit(BASE, "      last_country: {type: string, expr: country}\n", ""),
                "  other_model:\n    features: [card_stats:last_country]\n",
                ""),
            "feature view",
            "card_stats",
            "features.last_country",
            Severity.BREAKING),
        Arguments.of(
            "remove a feature no service uses",
            edit(BASE, "      spare: {type: string, expr: country}\n", ""),
            "feature view",
            "card_stats",
            "features.spare",
            Severity.REMOVAL),
        Arguments.of(
            "change a view's entities",
            edit(BASE, "entities: [card]", "entities: [card, merchant]"),
            "feature view",
            "card_stats",
            "entities",
            Severity.BREAKING),
        Arguments.of(
            "change a view's source",
            edit(BASE, "source: txns\n    ttl", "source: refunds\n    ttl"),
            "feature view",
            "card_stats",
            "source",
            Severity.BREAKING),
        Arguments.of(
            "change a view's filter",
            edit(BASE, "filter: amount > 0.0", "filter: amount > 1.0"),
            "feature view",
            "card_stats",
            "filter",
            Severity.BREAKING),
        Arguments.of(
            "remove a filter",
            edit(BASE, "    filter: amount > 0.0\n", "").replace("    ttl: 30d", "    ttl: 30d"),
            "feature view",
            "card_stats",
            "filter",
            Severity.BREAKING),
        Arguments.of(
            "change an entity's join keys",
            edit(
                edit(BASE, "join_keys: {card_id: string}", "join_keys: {pan: string}"),
                "schema: {card_id: string, amount: double",
                "schema: {pan: string, card_id: string, amount: double"),
            "entity",
            "card",
            "join_keys",
            Severity.BREAKING),
        Arguments.of(
            "change a source's topic",
            edit(BASE, "topic: txns}", "topic: transactions}"),
            "source",
            "txns",
            "kafka.topic",
            Severity.BREAKING),
        Arguments.of(
            "change a source field's type",
            edit(BASE, "merchant_id: int64, pan", "merchant_id: int32, pan")
                .replace("join_keys: {merchant_id: int64}", "join_keys: {merchant_id: int32}"),
            "source",
            "txns",
            "schema.merchant_id",
            Severity.BREAKING),
        Arguments.of(
            "remove a feature service",
            edit(BASE, "  other_model:\n    features: [card_stats:last_country]\n", ""),
            "feature service",
            "other_model",
            "",
            Severity.REMOVAL),
        Arguments.of(
            "remove a feature from a service",
            edit(BASE, "[card_stats:last_amount, card_stats:count_1h]", "[card_stats:last_amount]"),
            "feature service",
            "model",
            "features",
            Severity.REMOVAL),
        Arguments.of(
            "remove a source no view reads",
            edit(
                BASE,
                "  refunds:\n    kafka: {topic: refunds}\n    event_timestamp: ts\n"
                    + "    schema: {card_id: string, amount: double, country: string, ts: timestamp}\n",
                ""),
            "source",
            "refunds",
            "",
            Severity.REMOVAL));
  }

  @ParameterizedTest(name = "{0}: {5}")
  @MethodSource("changes")
  void eachChangeIsClassified(
      String name,
      String edited,
      String kind,
      String object,
      String field,
      Severity severity,
      @TempDir Path dir) {
    RegistrySnapshot applied = PlanFixtures.applied(dir.resolve("before"), BASE);

    Plan plan = Planner.plan(applied, PlanFixtures.repo(dir.resolve("after"), edited), false);

    assertThat(plan.changes())
        .as("changes of '%s'", name)
        .anySatisfy(
            c -> {
              assertThat(c.kind()).isEqualTo(kind);
              assertThat(c.name()).isEqualTo(object);
              assertThat(c.field()).isEqualTo(field);
              assertThat(c.severity()).isEqualTo(severity);
            });
    // Only the edit shows up: no change carries a severity worse than the expected one.
    assertThat(plan.changes())
        .as("no change in '%s' is classified worse than %s", name, severity)
        .allSatisfy(c -> assertThat(c.severity().ordinal()).isLessThanOrEqualTo(worst(severity)));
    assertThat(plan.canApply())
        .as("'%s' can be applied without a version raise or --allow-removals", name)
        .isEqualTo(severity == Severity.SAFE);
  }

  /** REMOVAL edits may come with SAFE companions; BREAKING ones with removals (service edits). */
  private static int worst(Severity s) {
    return s == Severity.SAFE ? Severity.SAFE.ordinal() : Severity.REMOVAL.ordinal();
  }
}
