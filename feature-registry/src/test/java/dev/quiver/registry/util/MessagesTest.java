package dev.quiver.registry.util;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class MessagesTest {
  @Test
  void shortValuesAreQuotedWhole() {
    assertThat(Messages.quote("card_id")).isEqualTo("'card_id'");
    assertThat(Messages.quote(null)).isEqualTo("null");
  }

  @Test
  void longValuesAreCutAndTheirLengthGiven() {
    String name = "x".repeat(3_000_000);
    String quoted = Messages.quote(name);
    assertThat(quoted).hasSizeLessThan(Messages.MAX_QUOTED + 40).endsWith("(3000000 characters)");
    assertThat(quoted).startsWith("'" + "x".repeat(Messages.MAX_QUOTED) + "…'");
  }

  @Test
  void aCutNeverSplitsASurrogatePair() {
    String value = "a".repeat(Messages.MAX_QUOTED - 1) + "\uD83D\uDE00" + "tail";
    String clipped = Messages.clip(value);
    assertThat(clipped).hasSize(Messages.MAX_QUOTED - 1);
    assertThat(Character.isHighSurrogate(clipped.charAt(clipped.length() - 1))).isFalse();
  }
}
