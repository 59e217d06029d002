package dev.quiver.registry.semantics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.quiver.proto.v1.Entity;
import dev.quiver.proto.v1.FeatureView;
import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.registry.Types;
import org.junit.jupiter.api.Test;

class JoinKeysTest {
  static Field key(String name) {
    return Field.newBuilder()
        .setName(name)
        .setType(Types.of(dev.quiver.proto.v1.ScalarType.SCALAR_TYPE_STRING))
        .build();
  }

  @Test
  void keysComeEntityByEntityInTheViewsOrderThenInDeclaredOrder() {
    RegistrySnapshot s =
        RegistrySnapshot.newBuilder()
            .addEntities(Entity.newBuilder().setName("card").addJoinKeys(key("card_id")))
            .addEntities(
                Entity.newBuilder()
                    .setName("shop")
                    .addJoinKeys(key("shop_region"))
                    .addJoinKeys(key("shop_id")))
            .build();
    FeatureView v =
        FeatureView.newBuilder().setName("v").addEntities("shop").addEntities("card").build();
    assertThat(JoinKeys.of(s, v).stream().map(Field::getName))
        .containsExactly("shop_region", "shop_id", "card_id");
  }

  @Test
  void anUnknownEntityIsNamed() {
    FeatureView v = FeatureView.newBuilder().setName("v").addEntities("crad").build();
    assertThatThrownBy(() -> JoinKeys.of(RegistrySnapshot.getDefaultInstance(), v))
        .hasMessageContaining("crad");
  }
}
