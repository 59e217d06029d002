package dev.quiver.registry.plan;

import static dev.quiver.registry.plan.PlanFixtures.BASE;
import static dev.quiver.registry.plan.PlanFixtures.edit;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.groups.Tuple.tuple;

import dev.quiver.proto.v1.FeatureReference;
import dev.quiver.proto.v1.FeatureService;
import dev.quiver.proto.v1.FeatureView;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.ViewState;
import dev.quiver.registry.FeatureRepo;
import dev.quiver.registry.plan.Change.Severity;
import dev.quiver.registry.store.DirectoryRegistryStore;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VersionedApplyTest {

  @Test
  void breakingChangeIsRefusedThenAcceptedWithARaisedVersionKeepingBoth(@TempDir Path dir)
      throws Exception {
    DirectoryRegistryStore store = new DirectoryRegistryStore(dir.resolve("registry"));
    Plan first =
        Planner.plan(
            RegistrySnapshot.getDefaultInstance(),
            PlanFixtures.repo(dir.resolve("v1"), BASE),
            false);
    store.apply(0, first.next());

    String breaking = edit(BASE, "expr: amount}", "expr: amount * 100.0}");
    FeatureRepo edited = PlanFixtures.repo(dir.resolve("edit"), breaking);
    Plan refused = Planner.plan(store.latest().orElseThrow(), edited, false);

    assertThat(refused.canApply()).isFalse();
    assertThat(refused.refusals())
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.name()).isEqualTo("card_stats");
              assertThat(r.reason()).contains("set version: 2");
              assertThat(r.location()).endsWith("features.yaml:17:3");
            });

    String raised = edit(breaking, "    ttl: 30d", "    version: 2\n    ttl: 30d");
    Plan accepted =
        Planner.plan(
            store.latest().orElseThrow(), PlanFixtures.repo(dir.resolve("raised"), raised), false);

    assertThat(accepted.canApply()).isTrue();
    assertThat(accepted.changes())
        .anySatisfy(
            c -> {
              assertThat(c.action()).isEqualTo(Change.Action.NEW_VERSION);
              assertThat(c.before()).isEqualTo("v1");
              assertThat(c.after()).isEqualTo("v2");
            })
        .anySatisfy(
            c -> {
              assertThat(c.field()).isEqualTo("features.last_amount.expr");
              assertThat(c.severity()).isEqualTo(Severity.BREAKING);
              assertThat(c.note()).contains("accepted: new version v2");
            })
        .anySatisfy(
            c -> {
              assertThat(c.kind()).isEqualTo("feature service");
              assertThat(c.field()).isEqualTo("features.card_stats:last_amount");
              assertThat(c.before()).isEqualTo("v1");
              assertThat(c.after()).isEqualTo("v2");
            });

    RegistrySnapshot stored = store.apply(1, accepted.next());

    assertThat(stored.getVersion()).isEqualTo(2);
    assertThat(stored.getFeatureViewsList())
        .extracting(FeatureView::getName, FeatureView::getVersion, FeatureView::getState)
        .containsExactlyInAnyOrder(
            tuple("card_stats", 1, ViewState.VIEW_STATE_SUPERSEDED),
            tuple("card_stats", 2, ViewState.VIEW_STATE_ACTIVE));
    FeatureView old =
        stored.getFeatureViewsList().stream().filter(v -> v.getVersion() == 1).findFirst().get();
    assertThat(old.getFeatures(0).getExpr()).isEqualTo("amount");
    FeatureService model =
        stored.getFeatureServicesList().stream()
            .filter(s -> s.getName().equals("model"))
            .findFirst()
            .get();
    assertThat(model.getFeaturesList())
        .extracting(FeatureReference::getViewVersion)
        .containsOnly(2);
    // Version 1 stays readable as it was.
    assertThat(store.get(1).getFeatureViewsList())
        .singleElement()
        .extracting(FeatureView::getVersion)
        .isEqualTo(1);

    // Planning the same repo again finds nothing to do, and keeps the superseded version.
    Plan again =
        Planner.plan(
            store.latest().orElseThrow(), PlanFixtures.repo(dir.resolve("again"), raised), false);
    assertThat(again.isEmpty()).isTrue();
    assertThat(again.next().getFeatureViewsCount()).isEqualTo(2);

    // A version can only go up.
    Plan lowered =
        Planner.plan(
            store.latest().orElseThrow(),
            PlanFixtures.repo(dir.resolve("lowered"), breaking),
            false);
    assertThat(lowered.canApply()).isFalse();
    assertThat(lowered.refusals())
        .singleElement()
        .extracting(Plan.Refusal::reason)
        .asString()
        .contains("version 1 is lower than the applied version 2");
  }

  @Test
  void entityJoinKeyChangeIsAcceptedWhenEveryViewUsingItGetsANewVersion(@TempDir Path dir) {
    RegistrySnapshot applied = PlanFixtures.applied(dir.resolve("base"), BASE);
    String rekeyed =
        edit(
            edit(BASE, "join_keys: {card_id: string}", "join_keys: {pan: string}"),
            "schema: {card_id: string, amount: double",
            "schema: {pan: string, card_id: string, amount: double");

    Plan refused = Planner.plan(applied, PlanFixtures.repo(dir.resolve("a"), rekeyed), false);
    assertThat(refused.refusals())
        .extracting(Plan.Refusal::name, Plan.Refusal::reason)
        .containsExactly(
            tuple(
                "card",
                "breaking change; raise the version of every feature view that uses it: card_stats"));

    Plan accepted =
        Planner.plan(
            applied,
            PlanFixtures.repo(
                dir.resolve("b"), edit(rekeyed, "    ttl: 30d", "    version: 2\n    ttl: 30d")),
            false);
    assertThat(accepted.canApply()).isTrue();
  }

  @Test
  void removalsAreShownAndAppliedOnlyWhenAllowed(@TempDir Path dir) {
    RegistrySnapshot applied = PlanFixtures.applied(dir.resolve("base"), BASE);
    String withoutService =
        edit(BASE, "  other_model:\n    features: [card_stats:last_country]\n", "");
    FeatureRepo repo = PlanFixtures.repo(dir.resolve("edit"), withoutService);

    Plan refused = Planner.plan(applied, repo, false);
    assertThat(refused.canApply()).isFalse();
    assertThat(refused.refusals())
        .singleElement()
        .extracting(Plan.Refusal::reason)
        .asString()
        .contains("--allow-removals");
    assertThat(PlanPrinter.human(refused)).contains("- feature service other_model   [removal]");

    Plan allowed = Planner.plan(applied, repo, true);
    assertThat(allowed.canApply()).isTrue();
    assertThat(allowed.next().getFeatureServicesList())
        .extracting(FeatureService::getName)
        .containsExactly("model");
  }

  @Test
  void firstPlanAddsEverythingAndJsonCarriesEachChange(@TempDir Path dir) throws Exception {
    Plan plan =
        Planner.plan(RegistrySnapshot.getDefaultInstance(), PlanFixtures.repo(dir, BASE), false);
    assertThat(plan.summary()).isEqualTo("7 added, 0 changed, 0 new view versions, 0 removed");
    var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(PlanPrinter.json(plan));
    assertThat(json.get("can_apply").asBoolean()).isTrue();
    assertThat(json.get("base_version").asLong()).isZero();
    assertThat(json.get("changes")).hasSize(7);
    assertThat(json.get("changes").get(0).get("action").asText()).isEqualTo("add");
  }
}
