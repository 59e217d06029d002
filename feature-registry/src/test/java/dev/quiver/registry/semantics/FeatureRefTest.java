package dev.quiver.registry.semantics;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FeatureRefTest {
  @Test
  void referencesParseIntoViewVersionAndFeature() {
    assertThat(FeatureRef.parse("card_activity:last_amount"))
        .contains(new FeatureRef("card_activity", 0, "last_amount"));
    assertThat(FeatureRef.parse("card_activity@2:last_amount"))
        .contains(new FeatureRef("card_activity", 2, "last_amount"));
    assertThat(FeatureRef.parse("_v1:*").orElseThrow().isAll()).isTrue();
    assertThat(FeatureRef.parse("v@12:f").orElseThrow().text()).isEqualTo("v@12:f");
    assertThat(FeatureRef.parse("v@12:f").orElseThrow().viewReference()).isEqualTo("v@12");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        ":",
        "view",
        "view:",
        ":feature",
        "a:b:c",
        "1view:f",
        "view:1f",
        "vi ew:f",
        "view:f ",
        "view@:f",
        "view@0:f",
        "view@x:f",
        "view@-1:f",
        "view@1@2:f",
        "view@9999999999999999999:f",
        "vïew:f",
        "view:f\n",
        "view:**"
      })
  void anythingElseIsNotAReference(String text) {
    assertThat(FeatureRef.parse(text)).isEmpty();
  }

  @Test
  void columnsAreViewTwoUnderscoresFeature() {
    assertThat(FeatureRef.columnName("card_activity", "last_amount"))
        .isEqualTo("card_activity__last_amount");
    assertThat(FeatureRef.referenceOfColumn("card_activity__last_amount"))
        .isEqualTo("card_activity:last_amount");
  }
}
